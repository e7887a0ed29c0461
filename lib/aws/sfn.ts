import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** Answers that mean the task is already closed (completed, timed out or gone): nothing left to do. */
const ALREADY_CLOSED = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];

/**
 * Completes waiting `.waitForTaskToken` tasks with an output (a failed attempt too: ATTEMPT_FAILED, which the
 * copy task then judges). Tokens already closed are not an error: they come back as the tokens nobody was
 * waiting on any more.
 */
export async function completeTasks(
  client: SFNClient,
  taskTokens: readonly string[],
  outcome: { output: unknown },
): Promise<string[]> {
  const closed: string[] = [];
  await Promise.all(
    taskTokens.map(async (taskToken) => {
      try {
        await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(outcome.output) }));
      } catch (error) {
        if (!(error instanceof Error && ALREADY_CLOSED.includes(error.name))) throw error;
        closed.push(taskToken);
      }
    }),
  );
  return closed;
}
