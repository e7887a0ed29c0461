/**
 * Fuzzes the intake with hostile input (test/support/hostile-events.ts) at two levels: many cases straight
 * through the normalizeInput handler, and fewer through the real state machine, ledger and Backup emulator.
 */
import { BackupClient } from '@aws-sdk/client-backup';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHandler } from '../../handlers/normalize-input.js';
import { REJECTION_ERROR_NAMES } from '../../lib/contracts.js';
import { findRecoveryPointArn } from '../../lib/domain/event.js';
import { rejectedInputKey } from '../../lib/domain/keys.js';
import { PLAN_KEY } from '../../lib/domain/ledger-record.js';
import { RejectionError } from '../../lib/errors.js';
import { createRuntime } from '../../lib/runtime.js';
import { BackupEmulator } from '../../local/backup-emulator.js';
import { DUMMY_CREDENTIALS, documentClient } from '../../local/dynamodb-local.js';
import { DR_WEST, manualInput, policyFor } from '../../local/factories.js';
import { LocalService } from '../../local/local-service.js';
import { lambdaContext } from '../../local/serverless-functions.js';
import {
  BASES,
  type BaseName,
  HOSTILE_KINDS,
  type HostileInput,
  hostileInput,
} from '../support/hostile-events.js';

/** A refusal's message grows with the number of broken rules, never with the size of the values it quotes. */
const MAX_SUMMARY_LENGTH = 200;
const MAX_LENGTH_PER_VIOLATION = 500;
/** StartExecution refuses larger input itself, before the state machine sees it. */
const MAX_EXECUTION_INPUT_BYTES = 256 * 1024;

/** `message` shows `field` as is or JSON-quoted, at least its start (a long field may be cut short like a value). */
const mentions = (message: string, field: string) =>
  [field, JSON.stringify(field)].some((form) => form !== '' && message.includes(form.slice(0, 40)));

/** One of the fields the hostile input broke, named in `message` (among `candidates` when given). */
const namedField = (message: string, broken: readonly string[], candidates: readonly string[] = broken) =>
  candidates.find((field) => broken.includes(field) && mentions(message, field));

/** A single hand-written hostile input, for the cases pinned below. */
const pinned = (input: unknown, fields: string[]): HostileInput => ({
  base: 'none',
  mutations: [],
  kinds: [],
  fields,
  input,
});

const withChanges = (base: BaseName, changes: Record<string, unknown>) => ({
  ...structuredClone(BASES[base]),
  ...changes,
});

describe('the intake (normalizeInput) refuses hostile input', () => {
  let emulator: BackupEmulator;
  let normalize: ReturnType<typeof createHandler>;

  beforeAll(async () => {
    emulator = await BackupEmulator.start();
    const clients = { region: 'us-east-1', credentials: DUMMY_CREDENTIALS };
    const runtime = createRuntime(
      {
        ledgerTable: 'unused',
        policy: policyFor(),
        copySlots: 0,
        copySlotsByRegion: {},
        copyStartPatienceMs: 0,
      },
      {
        backup: new BackupClient({ ...clients, endpoint: emulator.endpoint, maxAttempts: 1 }),
        documents: documentClient(inject('dynamoDbEndpoint')),
        sfn: new SFNClient({ ...clients, endpoint: 'http://127.0.0.1:9' }),
      },
    );
    normalize = createHandler(() => runtime);
  });

  afterAll(() => emulator?.close());

  /** The handler refused `hostile` with a RejectionError naming a broken field, briefly, and called nothing. */
  async function expectRefusal(hostile: HostileInput) {
    const outcome = await normalize(hostile.input, lambdaContext('normalizeInput')).then(
      (accepted: unknown) => ({ accepted }),
      (error: unknown) => ({ error }),
    );
    expect(outcome, 'the input was accepted').not.toHaveProperty('accepted');
    const { error } = outcome as { error: Error };
    expect(error).toBeInstanceOf(RejectionError);
    expect(REJECTION_ERROR_NAMES).toContain(error.name);
    const { message, violations } = error as RejectionError;
    const fields = violations.map((violation) => violation.field);
    expect(
      namedField(message, hostile.fields, fields),
      `none of ${JSON.stringify(hostile.fields)} named in: ${message.slice(0, 500)}`,
    ).toBeDefined();
    expect(message.length).toBeLessThanOrEqual(
      MAX_SUMMARY_LENGTH + violations.length * MAX_LENGTH_PER_VIOLATION,
    );
    expect(emulator.calls.operations).toEqual({});
  }

  it.each(Object.keys(BASES))(
    'accepts the unbroken %s base, so each refusal is a mutation’s doing',
    async (base) => {
      const request = await normalize(
        structuredClone(BASES[base as BaseName]),
        lambdaContext('normalizeInput'),
      );
      expect(request).toHaveProperty('recoveryPointArn');
    },
  );

  it('generates every kind of hostile input', () => {
    const kinds = new Set(fc.sample(hostileInput, { numRuns: 300, seed: 1 }).flatMap((h) => h.kinds));
    expect([...kinds].sort()).toEqual([...HOSTILE_KINDS].sort());
  });

  it('refuses every hostile input with a RejectionError naming the field, without calling AWS Backup', async () => {
    const inputs = hostileInput;
    await fc.assert(fc.asyncProperty(inputs, expectRefusal), { numRuns: 400 });
  });

  // Regression: the correlation-key middleware once read `event.copy` of null and crashed with a TypeError.
  it('refuses null with an InvalidInputError', async () => {
    await expectRefusal(pinned(null, ['(root)']));
  });

  // Regression: the envelope's account and region were once not checked against the policy's `allowed`; for an
  // EBS snapshot (its ARN has no account) the envelope is the only word on the source account.
  it.each([
    [
      'a backup job event from another account',
      withChanges('backupJob', { account: '000000000000' }),
      'account',
    ],
    [
      'an EBS snapshot event from another account',
      withChanges('recoveryPoint', { account: '999999999999' }),
      'account',
    ],
    ['a backup job event from another region', withChanges('backupJob', { region: 'eu-west-1' }), 'region'],
  ])('refuses %s', async (_case, input, field) => {
    await expectRefusal(pinned(input, [field]));
  });

  // Regression: an unknown key is its own field, and was once printed raw: a 100 000-character key came back in
  // full, an empty one as nothing at all.
  it.each([
    ['a 100 000-character', 'k'.repeat(100_000)],
    ['an empty', ''],
  ])('names %s unknown key readably, and briefly', async (_case, key) => {
    await expectRefusal(pinned({ ...manualInput(), [key]: true }, [key]));
  });
});

describe('the state machine ends hostile input as InputRejected with a REJECTED ledger record', () => {
  let stack: LocalService;

  beforeAll(async () => {
    stack = await LocalService.start({ policy: policyFor(), dynamoDbEndpoint: inject('dynamoDbEndpoint') });
  });

  afterAll(() => stack?.close());

  /** Starts an execution as an operator would, waits for it, and returns it with its ledger plan item. */
  async function execute(input: unknown) {
    const { executionArn = '' } = await stack.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stepFunctions.stateMachineArn,
        input: JSON.stringify(input),
      }),
    );
    await stack.settle();
    const key = findRecoveryPointArn(input) ?? rejectedInputKey(input);
    const plan = await stack.ledger.get({ recoveryPointArn: key, destinationVaultArn: PLAN_KEY });
    return { execution: stack.stepFunctions.execution(executionArn), executionArn, plan };
  }

  /** The execution ended InputRejected, its plan item says why, and AWS Backup was not called. */
  async function expectInputRejected(hostile: HostileInput) {
    const operations = structuredClone(stack.emulator.calls.operations);
    const { execution, executionArn, plan } = await execute(hostile.input);

    expect(execution).toMatchObject({ status: 'FAILED', error: 'InputRejected' });
    expect(plan).toMatchObject({ status: 'REJECTED', executionArn });
    expect(REJECTION_ERROR_NAMES).toContain(plan?.lastError?.name);
    const message = plan?.lastError?.message ?? '';
    expect(
      namedField(message, hostile.fields),
      `none of ${hostile.fields} named in: ${message}`,
    ).toBeDefined();
    expect(stack.emulator.calls.operations).toEqual(operations);
    expect(stack.deliveryErrors).toEqual([]);
  }

  it('rejects every hostile input given to StartExecution, without calling AWS Backup', async () => {
    const operations = structuredClone(stack.emulator.calls.operations);
    const inputs = hostileInput;
    await fc.assert(
      fc.asyncProperty(inputs, async (hostile) => {
        fc.pre(Buffer.byteLength(JSON.stringify(hostile.input)) <= MAX_EXECUTION_INPUT_BYTES);
        await expectInputRejected(hostile);
      }),
      // A run that hangs fails (and shrinks) instead of stalling the file.
      { numRuns: 40, timeout: 10_000 },
    );
    expect(stack.emulator.calls.operations).toEqual(operations);
  });

  // Only the recovery point says which rules (and so which destinations) apply: this one is refused at PlanCopies.
  it('refuses destinations in scope but outside the policy, after looking the recovery point up', async () => {
    const outsidePolicy = DR_WEST.replace(':dr-west', ':not-in-policy');
    const input = manualInput(undefined, { destinations: [outsidePolicy] });
    stack.seedFor(input);
    const { execution, executionArn, plan } = await execute(input);

    expect(execution).toMatchObject({ status: 'FAILED', error: 'InputRejected' });
    expect(plan).toMatchObject({
      status: 'REJECTED',
      executionArn,
      lastError: { name: 'InvalidInputError' },
    });
    expect(plan?.lastError?.message).toContain(`destinations (${JSON.stringify(outsidePolicy)})`);
    expect(stack.emulator.copyJobs()).toEqual([]);
  });

  // Regression: NormalizeInput's Catch once wrote the error at `ResultPath: $.error`, which needs an object: any
  // other input failed the execution with States.ResultPathMatchFailure, unrecorded.
  it.each([
    ['null', null],
    ['a number', 0],
    ['a string', JSON.stringify(BASES.manual)],
    ['a boolean', true],
    ['an array', [BASES.backupJob]],
  ])('rejects %s as execution input and records it', async (_case, input) => {
    await expectInputRejected(pinned(input, ['(root)']));
  });

  // Regression: a refused ARN was once limited to 2048 characters, but DynamoDB limits a partition key to 2048
  // UTF-8 bytes: the ledger write failed with ValidationException and nothing was recorded.
  it('rejects and records a refused ARN under 2048 characters but over 2048 UTF-8 bytes', async () => {
    const recoveryPointArn = `${BASES.manual.recoveryPointArn}${'€'.repeat(1000)}`;
    await expectInputRejected(pinned({ ...BASES.manual, recoveryPointArn }, ['recoveryPointArn']));
  });

  // Regression: an ARN within 1,024 characters but over 2,048 UTF-8 bytes once passed validation and crashed
  // planning on DynamoDB's key limit, leaving no ledger record; one with a control character counted as well-formed.
  it.each([
    [
      'within 1,024 characters but over 2,048 UTF-8 bytes',
      `${BASES.manual.recoveryPointArn}${'€'.repeat(700)}`,
    ],
    ['with a NUL', `${BASES.manual.recoveryPointArn}\u0000`],
    ['with an ANSI escape', `${BASES.manual.recoveryPointArn}\u001b[2J`],
  ])('rejects and records, under a digest, a recovery point ARN %s', async (_case, recoveryPointArn) => {
    expect(recoveryPointArn.length).toBeLessThanOrEqual(1024);
    const input = { ...BASES.manual, recoveryPointArn };
    expect(findRecoveryPointArn(input)).toBeUndefined();
    await expectInputRejected(pinned(input, ['recoveryPointArn']));
  });
});
