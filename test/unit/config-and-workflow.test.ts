import { describe, expect, it } from 'vitest';
import { loadConfig, loadSettings } from '../../lib/config.js';
import { describeStepError } from '../../lib/contracts.js';
import { ConfigurationError, InvalidPolicyError } from '../../lib/errors.js';
import { samplePolicyDocument, thrown } from './factories.js';

const goodEnv = (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { LEDGER_TABLE: 'backup-copy-ledger', AWS_REGION: 'us-east-1' };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
};
const goodPolicy = () => JSON.stringify(samplePolicyDocument());

const configError = (env: NodeJS.ProcessEnv, policyJson: string | undefined) => {
  const error = thrown(() => loadConfig(env, policyJson));
  expect(error).toBeInstanceOf(ConfigurationError);
  expect(error).not.toBeInstanceOf(InvalidPolicyError);
  expect(error.name).toBe('ConfigurationError');
  return error;
};

describe('loadConfig', () => {
  it('reads the ledger table from the environment and the policy bundled at package time', () => {
    const config = loadConfig(goodEnv(), goodPolicy());
    expect(config.ledgerTable).toBe('backup-copy-ledger');
    expect(config.policy.rules.map((rule) => rule.name)).toEqual([
      'production-to-dr',
      'file-systems-to-cold',
    ]);
    expect(config.policy.allowed.accounts).toEqual(['111111111111', '222222222222']);
  });

  it('reads the settings alone for the functions that never read the policy', () => {
    expect(loadSettings(goodEnv({ COPY_SLOTS: '3' }))).toEqual({
      ledgerTable: 'backup-copy-ledger',
      copySlots: 3,
      copySlotsByRegion: {},
      copyStartPatienceMs: 8 * 3_600_000,
    });
  });

  it.each<[string, Record<string, string | undefined>, string[]]>([
    ['a missing LEDGER_TABLE', { LEDGER_TABLE: undefined }, ['LEDGER_TABLE']],
    [
      'a too-short LEDGER_TABLE',
      { LEDGER_TABLE: 'ab' },
      ['LEDGER_TABLE', 'must name the ledger DynamoDB table'],
    ],
    ['a COPY_SLOTS that is not a number', { COPY_SLOTS: 'many' }, ['COPY_SLOTS']],
  ])('refuses %s with a ConfigurationError naming the variable', (_case, overrides, fragments) => {
    const error = configError(goodEnv(overrides), goodPolicy());
    for (const fragment of fragments) expect(error.message).toContain(fragment);
  });

  it.each<[string, string | undefined, string[]]>([
    ['no bundled policy (run unbundled)', undefined, ['bundled copy policy', 'none in this function']],
    ['an empty policy', '', ['bundled copy policy', 'not JSON']],
    ['a policy that is YAML, not JSON', 'version: 1\nrules: []', ['bundled copy policy', 'not JSON']],
    ['a truncated policy', '{"version": 1, "rules": [', ['bundled copy policy', 'not JSON']],
    [
      'a policy that breaks a rule',
      JSON.stringify({ ...samplePolicyDocument(), version: 2 }),
      ['bundled copy policy', 'version'],
    ],
    [
      'a policy with a destination outside the allowed accounts',
      JSON.stringify({
        version: 1,
        allowed: { partition: 'aws', accounts: ['111111111111'], regions: ['us-west-2'] },
        rules: [
          {
            name: 'r',
            match: { sourceVaults: ['primary'] },
            destinations: [
              {
                vaultArn: 'arn:aws:backup:us-west-2:999999999999:backup-vault:dr',
                iamRoleArn: 'arn:aws:iam::111111111111:role/r',
              },
            ],
          },
        ],
      }),
      ['bundled copy policy', 'rules[0].destinations[0].vaultArn', 'must be in an allowed account'],
    ],
    ['a policy that is JSON null', 'null', ['bundled copy policy']],
  ])('refuses %s with a ConfigurationError naming the bundled policy', (_case, policyJson, fragments) => {
    const error = configError(goodEnv(), policyJson);
    for (const fragment of fragments) expect(error.message).toContain(fragment);
  });

  it.each([
    ['JSON.parse', '{"version": 1', SyntaxError],
    ['the policy', JSON.stringify({ ...samplePolicyDocument(), version: 2 }), InvalidPolicyError],
  ])('keeps the error %s raised as the cause of the ConfigurationError', (_from, policy, Cause) => {
    expect(configError(goodEnv(), policy).cause).toBeInstanceOf(Cause);
  });
});

describe('describeStepError', () => {
  it.each<[string, { Error: string; Cause?: string }, { name: string; message: string }]>([
    [
      "a Lambda error's JSON Cause",
      {
        Error: 'InvalidInputError',
        Cause: JSON.stringify({
          errorType: 'InvalidInputError',
          errorMessage: 'input refused: sourceBackupVaultName ("x") must match',
          trace: ['InvalidInputError: input refused', '    at normalizeInput'],
        }),
      },
      { name: 'InvalidInputError', message: 'input refused: sourceBackupVaultName ("x") must match' },
    ],
    [
      'a plain-text Cause of a States.* error',
      { Error: 'States.Timeout', Cause: 'The task timed out after 3600 seconds' },
      { name: 'States.Timeout', message: 'The task timed out after 3600 seconds' },
    ],
    ['no Cause', { Error: 'States.TaskFailed' }, { name: 'States.TaskFailed', message: 'States.TaskFailed' }],
    [
      'a JSON Cause without errorMessage',
      { Error: 'States.Runtime', Cause: '{"detail":"x"}' },
      { name: 'States.Runtime', message: '{"detail":"x"}' },
    ],
    [
      'a JSON Cause whose errorMessage is not text',
      { Error: 'E', Cause: '{"errorMessage":42}' },
      { name: 'E', message: '{"errorMessage":42}' },
    ],
    ['a Cause of JSON null', { Error: 'E', Cause: 'null' }, { name: 'E', message: 'null' }],
    ['an empty Cause', { Error: 'E', Cause: '' }, { name: 'E', message: '' }],
  ])('describes %s', (_case, stepError, expected) => {
    expect(describeStepError(stepError)).toEqual(expected);
  });
});
