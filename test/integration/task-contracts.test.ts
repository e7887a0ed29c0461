import { GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { z } from 'zod';
import {
  CheckCopyProgressOutput,
  CopyToDestinationOutput,
  NormalizeInputOutput,
  PlanCopiesOutput,
  RecordRejectionOutput,
  WaitForCopySlotOutput,
} from '../../lib/contracts.js';
import { backupJobCompleted, manualInput, policyFor, recoveryPointArn } from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';

/** The contract of each Task state's output, by state name. */
const OUTPUTS: Record<string, z.ZodType> = {
  NormalizeInput: NormalizeInputOutput,
  PlanCopies: PlanCopiesOutput,
  CopyToDestination: CopyToDestinationOutput,
  WaitForCopySlot: WaitForCopySlotOutput,
  CheckCopyProgress: CheckCopyProgressOutput,
  RecordRejection: RecordRejectionOutput,
};

let stack: LocalService | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Each task's output in an execution's history: the task's success, then the state it exits. */
function taskOutputs(events: HistoryEvent[]): { state: string; output: unknown }[] {
  const outputs: { state: string; output: unknown }[] = [];
  let pending: string | undefined;
  for (const event of events) {
    const succeeded = event.lambdaFunctionSucceededEventDetails ?? event.taskSucceededEventDetails;
    if (succeeded) pending = succeeded.output;
    const exited = event.type === 'TaskStateExited' ? event.stateExitedEventDetails : undefined;
    if (exited?.name && pending !== undefined) {
      outputs.push({ state: exited.name, output: JSON.parse(pending) });
      pending = undefined;
    }
  }
  return outputs;
}

describe('task contracts', () => {
  it('gives every task output its contract allows, field for field, through queued, lost-event and refused runs', async () => {
    // Two backups of one resource: the second copy queues for the resource's one slot; dropped events send each copy through CheckCopyProgress after its
    // 12-hour wait (scaled to about 4 s); the foreign account's recovery point is refused.
    const s = await LocalService.start({
      policy: policyFor(),
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      emulator: { dropCopyJobEvents: true },
      timeScale: 0.0001,
    });
    stack = s;
    const resourceArn = 'arn:aws:elasticfilesystem:us-east-1:111111111111:file-system/fs-0123456789abcdef0';
    const inputs = [
      backupJobCompleted(recoveryPointArn(), { resourceArn }),
      backupJobCompleted(recoveryPointArn(), { resourceArn }),
      manualInput('arn:aws:backup:eu-west-1:999999999999:recovery-point:x'),
    ];
    for (const input of inputs) s.seedFor(input);
    await Promise.all(inputs.map((input) => s.deliver(input)));
    await s.settle();
    expect(s.deliveryErrors).toEqual([]);

    const seen = new Set<string>();
    for (const execution of s.stepFunctions.executions()) {
      const { events = [] } = await s.sfn.send(
        new GetExecutionHistoryCommand({ executionArn: execution.arn, maxResults: 1000 }),
      );
      for (const { state, output } of taskOutputs(events)) {
        const contract = OUTPUTS[state];
        expect(contract, `${state} has a contract`).toBeDefined();
        // Parsing strips fields the contract does not name: equal means nothing undeclared went out.
        expect(contract?.parse(output), state).toEqual(output);
        seen.add(state);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(OUTPUTS).sort());
  });
});
