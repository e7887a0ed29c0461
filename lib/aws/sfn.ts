import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** Answers that mean the task is already closed (completed, timed out or gone): nothing left to do. */
const ALREADY_CLOSED = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];

/**
 * Completes waiting `.waitForTaskToken` tasks with an output or an error. Tokens already closed are not an
 * error: they come back as the tokens nobody was waiting on any more.
 */
export async function completeTasks(
  client: SFNClient,
  taskTokens: readonly string[],
  outcome: { output: unknown } | { error: Error },
): Promise<string[]> {
  const closed: string[] = [];
  await Promise.all(
    taskTokens.map(async (taskToken) => {
      try {
        if ('output' in outcome) {
          await client.send(
            new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(outcome.output) }),
          );
        } else {
          const { name: error, message } = outcome.error;
          await client.send(
            new SendTaskFailureCommand({ taskToken, error, cause: message.slice(0, 32_000) }),
          );
        }
      } catch (error) {
        if (!(error instanceof Error && ALREADY_CLOSED.includes(error.name))) throw error;
        closed.push(taskToken);
      }
    }),
  );
  return closed;
}
