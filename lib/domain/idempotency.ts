import { createHash } from 'node:crypto';

/**
 * The StartCopyJob IdempotencyToken for one attempt at one copy. Deterministic, so a retry, a duplicate event
 * or a re-drive of the same attempt presents the same token and AWS Backup returns the same job.
 * A new attempt (after a FAILED copy) gets a new token, so AWS starts a new job.
 */
export function copyIdempotencyToken(
  recoveryPointArn: string,
  destinationVaultArn: string,
  attempt: number,
): string {
  const hex = createHash('sha256')
    .update(`${recoveryPointArn}\n${destinationVaultArn}\n${attempt}`)
    .digest('hex');
  // UUID layout (version nibble 5-like) keeps it readable in the console and within any length limit.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
