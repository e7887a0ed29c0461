import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { type CopyStatus, type LedgerError, type LedgerRecord, PLAN_KEY } from '../domain/ledger-record.js';

const COPY_STATUSES: CopyStatus[] = [
  'PLANNED',
  'QUEUED',
  'PENDING',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'REJECTED',
];
const IN_PROGRESS: CopyStatus[] = ['PLANNED', 'QUEUED', 'PENDING', 'RUNNING'];

export interface ReportWindow {
  since: Date;
  until: Date;
}

export interface DestinationCounts {
  destinationVaultArn: string;
  total: number;
  byStatus: Record<CopyStatus, number>;
}

/** A FAILED or REJECTED copy (refused at plan time), or a plan (destination PLAN_KEY) REJECTED or FAILED, with its last error. */
export interface ReportedFailure {
  recoveryPointArn: string;
  destinationVaultArn: string;
  status: 'FAILED' | 'REJECTED';
  attempt: number;
  executionArn: string;
  updatedAt: string;
  error?: LedgerError;
}

export interface InProgressCopy {
  recoveryPointArn: string;
  destinationVaultArn: string;
  status: CopyStatus;
  attempt: number;
  executionArn: string;
  copyJobId?: string;
  /** When the copy job started (RUNNING), or when the attempt was claimed (PENDING). */
  inProgressSince: string;
  ageSeconds: number;
}

export interface LedgerReport {
  since: string;
  until: string;
  generatedAt: string;
  copies: { total: number; byStatus: Record<CopyStatus, number>; byDestination: DestinationCounts[] };
  /** PLANNED and REJECTED always, and any other plan status that occurs. */
  plans: { total: number; byStatus: Record<string, number> };
  /** Newest first. */
  failures: ReportedFailure[];
  /** Oldest first, whatever the window: a copy stuck since before it is what this list is for. */
  oldestInProgress: InProgressCopy[];
  /** Copies waiting for a copy slot, by slot then place (1: next to be granted), whatever the window. */
  queued: QueuedCopy[];
}

export interface QueuedCopy {
  recoveryPointArn: string;
  destinationVaultArn: string;
  /** The copy slot it waits for (lib/domain/copy-slots.ts): `region#<account>#<Region>`, `resource#<ARN>`. */
  slot: string;
  place: number;
  queuedAt: string;
  ageSeconds: number;
}

const zeroes = <S extends string>(statuses: readonly S[]) =>
  Object.fromEntries(statuses.map((status) => [status, 0])) as Record<S, number>;

/**
 * Summarizes ledger items updated within [since, until]: copies by status and by destination × status, plans
 * by status, the failures with their reasons, and the `oldest` longest-running PENDING/RUNNING copies.
 */
export function buildReport(
  items: readonly LedgerRecord[],
  options: ReportWindow & { now: Date; oldest?: number },
): LedgerReport {
  const since = options.since.toISOString();
  const until = options.until.toISOString();
  const inWindow = items.filter((item) => item.updatedAt >= since && item.updatedAt <= until);
  const plans = inWindow.filter((item) => item.destinationVaultArn === PLAN_KEY);
  const copies = inWindow.filter((item) => item.destinationVaultArn !== PLAN_KEY);

  const byStatus = zeroes(COPY_STATUSES);
  const destinations = new Map<string, DestinationCounts>();
  for (const copy of copies) {
    const status = copy.status as CopyStatus;
    byStatus[status] += 1;
    const counts = destinations.get(copy.destinationVaultArn) ?? {
      destinationVaultArn: copy.destinationVaultArn,
      total: 0,
      byStatus: zeroes(COPY_STATUSES),
    };
    counts.total += 1;
    counts.byStatus[status] += 1;
    destinations.set(copy.destinationVaultArn, counts);
  }
  const planCounts: Record<string, number> = { PLANNED: 0, REJECTED: 0 };
  for (const plan of plans) planCounts[plan.status] = (planCounts[plan.status] ?? 0) + 1;

  return {
    since,
    until,
    generatedAt: options.now.toISOString(),
    copies: {
      total: copies.length,
      byStatus,
      byDestination: [...destinations.values()].sort((a, b) =>
        a.destinationVaultArn.localeCompare(b.destinationVaultArn),
      ),
    },
    plans: { total: plans.length, byStatus: planCounts },
    failures: inWindow
      .filter((item) => item.status === 'FAILED' || item.status === 'REJECTED')
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .map(failureOf),
    oldestInProgress: items
      .filter(
        (item) => item.destinationVaultArn !== PLAN_KEY && IN_PROGRESS.includes(item.status as CopyStatus),
      )
      .map((item) => inProgressOf(item, options.now))
      .sort((a, b) => a.inProgressSince.localeCompare(b.inProgressSince))
      .slice(0, options.oldest ?? 10),
    queued: queuedOf(items, options.now),
  };
}

/** Each waiting copy's place in its slot's queue: first come (queuedAt), first served, as the queue index sorts. */
function queuedOf(items: readonly LedgerRecord[], now: Date): QueuedCopy[] {
  const waiting = items
    .filter((item): item is LedgerRecord & { slotQueue: string; queuedAt: string } =>
      Boolean(item.slotQueue && item.queuedAt),
    )
    .sort((a, b) => a.slotQueue.localeCompare(b.slotQueue) || a.queuedAt.localeCompare(b.queuedAt));
  const places = new Map<string, number>();
  return waiting.map((item) => {
    const place = (places.get(item.slotQueue) ?? 0) + 1;
    places.set(item.slotQueue, place);
    return {
      recoveryPointArn: item.recoveryPointArn,
      destinationVaultArn: item.destinationVaultArn,
      slot: item.slotQueue,
      place,
      queuedAt: item.queuedAt,
      ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(item.queuedAt)) / 1000)),
    };
  });
}

function failureOf(item: LedgerRecord): ReportedFailure {
  return {
    recoveryPointArn: item.recoveryPointArn,
    destinationVaultArn: item.destinationVaultArn,
    status: item.status as ReportedFailure['status'],
    attempt: item.attempt,
    executionArn: item.executionArn,
    updatedAt: item.updatedAt,
    ...(item.lastError ? { error: item.lastError } : {}),
  };
}

function inProgressOf(item: LedgerRecord, now: Date): InProgressCopy {
  // startedAt survives from an earlier attempt, so only a RUNNING item's startedAt is this attempt's.
  const inProgressSince = item.status === 'RUNNING' ? (item.startedAt ?? item.updatedAt) : item.updatedAt;
  return {
    recoveryPointArn: item.recoveryPointArn,
    destinationVaultArn: item.destinationVaultArn,
    status: item.status as CopyStatus,
    attempt: item.attempt,
    executionArn: item.executionArn,
    ...(item.copyJobId ? { copyJobId: item.copyJobId } : {}),
    inProgressSince,
    ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(inProgressSince)) / 1000)),
  };
}

/**
 * The items buildReport needs: those updated within the window, plus every copy not yet ended. A filtered
 * Scan reads the whole table, which is fine at this size; a GSI on status + updatedAt is the next step at scale.
 */
export async function readLedgerWindow(
  documents: DynamoDBDocumentClient,
  tableName: string,
  window: ReportWindow,
  onPage: (itemsSoFar: number) => void = () => {},
): Promise<LedgerRecord[]> {
  const items: LedgerRecord[] = [];
  const pages = paginateScan(
    { client: documents },
    {
      TableName: tableName,
      FilterExpression:
        '#updatedAt BETWEEN :since AND :until OR #status IN (:planned, :queued, :pending, :running)',
      ExpressionAttributeNames: { '#updatedAt': 'updatedAt', '#status': 'status' },
      ExpressionAttributeValues: {
        ':since': window.since.toISOString(),
        ':until': window.until.toISOString(),
        ':planned': 'PLANNED',
        ':queued': 'QUEUED',
        ':pending': 'PENDING',
        ':running': 'RUNNING',
      },
    },
  );
  for await (const page of pages) {
    items.push(...((page.Items ?? []) as LedgerRecord[]));
    onPage(items.length);
  }
  return items;
}
