/**
 * What the coverage query costs against DynamoDB Local, in the read units DynamoDB reports
 * (ReturnConsumedCapacity TOTAL): a ledger of `rows` (resource, destination) pairs holding `copies` final copy
 * items each, read once through the resource index (two Limit-1 queries a row) and once by a full Scan, the
 * alternative the index replaces.
 *
 *   node --import tsx scripts/bench/coverage-cost.ts [--rows 100] [--copies 100] [--json]
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { CopyLedger } from '../../lib/aws/ledger.js';
import { newReadMeter } from '../../lib/aws/resource-index.js';
import { resourceOutcomeKey } from '../../lib/domain/keys.js';
import { createLedgerTable, documentClient, startDynamoDbLocal } from '../../local/dynamodb-local.js';
import { EXIT, numberOption, onExit, parseCommandLine, run } from '../command-line.js';

const USAGE = `Usage: node --import tsx scripts/bench/coverage-cost.ts [--rows <n>] [--copies <n>] [--json]

Loads rows x copies final copy items into a fresh ledger table in DynamoDB Local and reports the read units
of the coverage query (the resource index) and of a full Scan.`;

const DESTINATIONS = [
  'arn:aws:backup:us-west-2:111111111111:backup-vault:dr-west',
  'arn:aws:backup:us-west-2:222222222222:backup-vault:dr-isolated',
];

/** A final copy item the size the copy path writes (every attribute CopyLedger sets on a COMPLETED copy). */
function copyItem(resource: number, destination: string, copy: number, copies: number) {
  const completedAt = new Date(Date.UTC(2026, 0, 1) + copy * 86_400_000).toISOString();
  const failed = copy === copies - 1 && resource % 10 === 0;
  const status = failed ? 'FAILED' : 'COMPLETED';
  const recoveryPointArn = `arn:aws:backup:us-east-1:111111111111:recovery-point:${randomUUID()}`;
  return {
    recoveryPointArn,
    destinationVaultArn: destination,
    status,
    statusRank: 3,
    attempt: 1,
    executionArn: `arn:aws:states:us-east-1:111111111111:execution:backup-copy-orchestrator-prod-copy-recovery-point:${randomUUID()}`,
    runId: `arn:aws:states:us-east-1:111111111111:execution:backup-copy-orchestrator-prod-copy-recovery-point:${randomUUID()}#0`,
    idempotencyToken: randomUUID(),
    copyJobId: randomUUID().toUpperCase(),
    sourceBackupVaultName: 'primary',
    resourceType: 'EBS',
    resourceArn: `arn:aws:ec2:us-east-1:111111111111:volume/vol-${String(resource).padStart(17, '0')}`,
    iamRoleArn: 'arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole',
    lifecycle: { DeleteAfterDays: 35 },
    lifecycleSource: 'policy',
    isParent: false,
    createdAt: completedAt,
    updatedAt: completedAt,
    startedAt: completedAt,
    completedAt,
    sourceCompletionDate: completedAt,
    resourceOutcome: resourceOutcomeKey(destination, status, completedAt),
    ...(failed
      ? { lastError: { name: 'CopyJobFailedError', message: 'copy job ended FAILED: Access denied' } }
      : {}),
    waiters: [`AQCEAAAAKgAAAAMAAAAA${'x'.repeat(600)}`],
  };
}

async function load(documents: DynamoDBDocumentClient, table: string, rows: number, copies: number) {
  const items = [];
  for (let row = 0; row < rows; row++) {
    const destination = DESTINATIONS[row % DESTINATIONS.length] as string;
    for (let copy = 0; copy < copies; copy++)
      items.push(copyItem(Math.floor(row / 2), destination, copy, copies));
  }
  const batches = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  for (let i = 0; i < batches.length; i += 8) {
    await Promise.all(
      batches.slice(i, i + 8).map(async (batch) => {
        let requests: unknown[] = batch.map((Item) => ({ PutRequest: { Item } }));
        while (requests.length > 0) {
          const out = await documents.send(
            new BatchWriteCommand({ RequestItems: { [table]: requests as never } }),
          );
          requests = out.UnprocessedItems?.[table] ?? [];
        }
      }),
    );
  }
  return items.map((item) => ({
    resourceArn: item.resourceArn,
    destinationVaultArn: item.destinationVaultArn,
  }));
}

async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    rows: { type: 'string', default: '100' },
    copies: { type: 'string', default: '100' },
  });
  const rows = numberOption('rows', values.rows, { integer: true, min: 1 });
  const copies = numberOption('copies', values.copies, { integer: true, min: 1 });
  const dynamo = await startDynamoDbLocal({ timeoutMs: 300_000 });
  onExit(() => dynamo.stop());
  const table = `coverage-cost-${randomUUID()}`;
  await createLedgerTable(dynamo.endpoint, table);
  const documents = documentClient(dynamo.endpoint);
  onExit(() => documents.destroy());

  const keys = await load(documents, table, rows, copies);
  const pairs = [...new Map(keys.map((k) => [`${k.resourceArn}\n${k.destinationVaultArn}`, k])).values()];
  const index = new CopyLedger(documents, table).resourceIndex(newReadMeter());
  for (const pair of pairs) await index.evidence(pair.resourceArn, pair.destinationVaultArn);

  const scan = { readUnits: 0, pages: 0 };
  for await (const page of paginateScan(
    { client: documents },
    { TableName: table, ReturnConsumedCapacity: 'TOTAL' },
  )) {
    scan.readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    scan.pages++;
  }
  const result = {
    items: rows * copies,
    rows: pairs.length,
    copiesPerRow: copies,
    coverage: { ...index.meter, readUnitsPerRow: index.meter.readUnits / pairs.length },
    scan,
  };
  console.log(values.json ? JSON.stringify(result, null, 2) : JSON.stringify(result));
  return EXIT.ok;
}

run(main);
