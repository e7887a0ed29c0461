import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { numberOption, onExit, parseCommandLine, run, UsageError } from '../command-line.js';
import type { BurstCell } from './burst.js';

const USAGE = `Usage: npm run bench -- [options]

Measures what decides whether the service is fast and cheap enough, each next to a baseline measured in the
same run, and writes its sections of docs/BENCHMARKS.md (keeping the others):
  burst         N recovery points at once, each to D destinations in D Regions, against AWS's copy quotas
                (100 per destination Region + 5 per vault, 1 per resource): makespan against the quota-bound
                ideal, LimitExceeded answers per copy, failed executions, duplicates, lost copies, wall and CPU
                time; cells full-size, global-10 (today's default), retry-only and outage (virtual time)
  cost          $ per copy from the executions' histories and the DynamoDB capacity consumed, for a 10-minute
                and a 6-hour copy, at us-east-1 prices
  cold-start    each function's zipped size and module-init time (serverless package output, fresh node
                processes) against a bare handler and a bundle constructing just the SDK clients it calls
  handler-time  each handler's warm time per invocation against local endpoints (median, p99)
Needs Java (DynamoDB Local). A full run takes about an hour on 2 cores; --quick a few minutes.

Options:
  --quick                    a fast look: N = 100, fewer samples; writes no report unless --out is given
  --sections <list>          comma-separated subset of burst,cost,cold-start,handler-time (default: all)
  --cells <list>             burst cells (default full-size,global-10,retry-only,outage)
  --recovery-points <n>      burst size N (default 5000)
  --destinations <n>         destinations per recovery point, one per Region, 1 or 2 (default 2)
  --copy-minutes <n>         how long every burst copy takes (default 10)
  --outage-minutes <n>       how long the outage cell's Backup API answers ServiceUnavailable (default 30)
  --max-wall-minutes <n>     stop a burst cell that has not drained after this long (default 15)
  --baseline-wall-minutes <n>  the same for the baselines global-10 and retry-only, whose rates show well
                             before they drain (default: --max-wall-minutes)
  --busy-rate <x>            virtual ms per wall ms while handlers work (default 20)
  --busy-cores <n>           burst: the cores work in flight shares; with more invocations in flight, the
                             virtual clock runs at their share (as each Lambda has its own CPU on AWS), so
                             the makespan measures the design, not this machine's throughput; 0: off
                             (default: this machine's cores)
  --out <file>               where to write the Markdown report (default docs/BENCHMARKS.md on a full run)
  --json                     print the results as one JSON object instead of tables
  --debug                    print the stack trace of an error
  --help                     this text

Exit code: 1 when a copy was duplicated (any burst cell, cost) or lost (full-size and outage cells, cost), else 0
(targets missed are listed); 2 for bad options.`;

const SECTIONS = ['burst', 'cost', 'cold-start', 'handler-time'] as const;
/** burst.js is imported only once the handlers' logging is silenced (below): its cells are named here. */
const BURST_CELLS: readonly BurstCell[] = ['full-size', 'global-10', 'retry-only', 'outage'];

const positive = (name: string, text: string) => numberOption(name, text, { min: 0, exclusiveMin: true });

async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    quick: { type: 'boolean', default: false },
    sections: { type: 'string', default: SECTIONS.join(',') },
    cells: { type: 'string', default: BURST_CELLS.join(',') },
    'recovery-points': { type: 'string' },
    destinations: { type: 'string', default: '2' },
    'copy-minutes': { type: 'string', default: '10' },
    'outage-minutes': { type: 'string', default: '30' },
    'max-wall-minutes': { type: 'string', default: '15' },
    'baseline-wall-minutes': { type: 'string' },
    'busy-rate': { type: 'string', default: '20' },
    'busy-cores': { type: 'string', default: String(availableParallelism()) },
    out: { type: 'string' },
  });

  const sections = new Set(values.sections.split(','));
  for (const section of sections) {
    if (!(SECTIONS as readonly string[]).includes(section))
      throw new UsageError(`--sections: unknown section ${section} (known: ${SECTIONS.join(', ')})`);
  }
  const cells = values.cells.split(',') as BurstCell[];
  for (const cell of cells) {
    if (!(BURST_CELLS as readonly string[]).includes(cell))
      throw new UsageError(`--cells: unknown cell ${cell} (known: ${BURST_CELLS.join(', ')})`);
  }
  const recoveryPoints = numberOption(
    'recovery-points',
    values['recovery-points'] ?? (values.quick ? '100' : '5000'),
    {
      min: 0,
      exclusiveMin: true,
      integer: true,
    },
  );
  const destinations = numberOption('destinations', values.destinations, { min: 1, integer: true });
  if (destinations > 2) throw new UsageError('--destinations: at most 2 (one per destination Region)');
  const copyMinutes = positive('copy-minutes', values['copy-minutes']);
  const outageMinutes = positive('outage-minutes', values['outage-minutes']);
  const maxWallMinutes = positive('max-wall-minutes', values['max-wall-minutes']);
  const baselineWallMinutes = positive(
    'baseline-wall-minutes',
    values['baseline-wall-minutes'] ?? values['max-wall-minutes'],
  );
  const busyRate = positive('busy-rate', values['busy-rate']);
  const cores = numberOption('busy-cores', values['busy-cores'], { min: 0 });
  const busyCores = cores === 0 ? undefined : cores;
  const out = values.out ?? (values.quick ? undefined : 'docs/BENCHMARKS.md');

  // The handlers' logger and metrics read their settings when first imported: silence them first.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const { startDynamoDbLocal } = await import('../../local/dynamodb-local.js');
  const { warmUpDynamoDb } = await import('./dynamodb-meter.js');
  const { cellOptions, runBurst } = await import('./burst.js');
  const { measureCost } = await import('./cost.js');
  const { measureColdStart } = await import('./cold-start.js');
  const { measureHandlerTime } = await import('./handler-time.js');
  const markdown = await import('./markdown.js');

  const started = Date.now();
  const log = (section: string, message: string) =>
    console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${section}: ${message}`);
  const results: import('./markdown.js').BenchResults = {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
      ' ',
    ),
    machine: markdown.machine(),
    settings: {
      copyMinutes,
      busyRate,
      outageMinutes,
      maxWallMinutes,
      baselineWallMinutes,
      ...(busyCores ? { busyCores } : {}),
    },
  };

  // A run of some sections replaces only those in the report and keeps the others.
  const previous = out ? await readFile(out, 'utf8').catch(() => undefined) : undefined;

  /** Writes the report so far: a long run that dies late keeps what it measured. */
  async function save() {
    if (out) await writeFile(out, markdown.renderMarkdown(results, previous));
  }

  // Cold start first, while no DynamoDB Local competes for the CPU.
  if (sections.has('cold-start')) {
    results.coldStart = await measureColdStart({
      samples: values.quick ? 5 : 20,
      onProgress: (message) => log('cold start', message),
    });
    await save();
  }

  if (sections.has('burst') || sections.has('cost') || sections.has('handler-time')) {
    log('setup', 'starting DynamoDB Local and warming it up');
    const dynamo = await startDynamoDbLocal();
    onExit(() => dynamo.stop());
    try {
      await warmUpDynamoDb(dynamo.endpoint);
      if (sections.has('handler-time')) {
        results.handlerTime = await measureHandlerTime({
          dynamoDbEndpoint: dynamo.endpoint,
          invocations: values.quick ? 200 : 1000,
          warmUp: values.quick ? 20 : 50,
          onProgress: (message) => log('handler time', message),
        });
        await save();
      }
      if (sections.has('cost')) {
        const n = values.quick ? 20 : 100;
        results.costs = await measureCost({
          dynamoDbEndpoint: dynamo.endpoint,
          recoveryPoints: n,
          copyDurationsMs: [10 * 60_000, 6 * 3_600_000],
          concurrencies: [n, 10],
          busyRate,
          onProgress: (message) => log('cost', message),
        });
        await save();
      }
      if (sections.has('burst')) {
        results.bursts = [];
        for (const cell of cells) {
          const label = `${cell} N=${recoveryPoints}×${destinations}`;
          log('burst', `${label}: delivering`);
          const copyDurationMs = copyMinutes * 60_000;
          const burst = await runBurst({
            dynamoDbEndpoint: dynamo.endpoint,
            dynamoDbPid: dynamo.pid,
            recoveryPoints,
            destinations,
            copyDurationMs,
            busyRate,
            ...(busyCores === undefined ? {} : { busyCores }),
            maxWallSeconds:
              (markdown.TARGETS.burstCells.includes(cell) ? maxWallMinutes : baselineWallMinutes) * 60,
            ...cellOptions(cell, {
              recoveryPoints,
              destinations,
              copyDurationMs,
              outageMs: outageMinutes * 60_000,
            }),
            onProgress: (ended, virtualMs) =>
              log(
                'burst',
                `${label}: ${ended}/${recoveryPoints} executions ended, ${(virtualMs / 3_600_000).toFixed(1)} virtual h`,
              ),
          });
          results.bursts.push(burst);
          await save();
          log(
            'burst',
            `${label}: makespan ${burst.makespanRatio.toFixed(3)} × ideal, ${burst.failedExecutions} failed, lost ${burst.lost}, ${burst.wallSeconds.toFixed(0)} s wall, ${burst.nodeCpuSeconds.toFixed(0)} + ${burst.dynamoDbCpuSeconds?.toFixed(0) ?? '?'} s CPU`,
          );
        }
      }
    } finally {
      await dynamo.stop();
    }
  }

  if (values.json) {
    const { bursts, ...rest } = results;
    const withoutUsage = bursts?.map(({ usage, ...burst }) => ({
      ...burst,
      dynamoDbRequests: usage.dynamoDb.requests,
    }));
    console.log(JSON.stringify({ ...rest, bursts: withoutUsage, misses: markdown.misses(results) }, null, 2));
  } else {
    console.log(markdown.renderMarkdown(results));
  }
  if (out) {
    await save();
    log('done', `wrote ${out}`);
  }
  // A duplicate is wrong anywhere; a lost copy in a targeted burst cell or a cost run (copy slots too), where
  // the baselines lose copies by design.
  const bursts = results.bursts ?? [];
  const incorrect =
    bursts.some((burst) => burst.duplicates > 0 || (markdown.targeted(burst) && burst.lost > 0)) ||
    (results.costs ?? []).some((cost) => cost.duplicates > 0 || cost.lost > 0);
  return incorrect ? 1 : 0;
}

run(main);
