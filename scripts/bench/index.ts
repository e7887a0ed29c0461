import { readFile, writeFile } from 'node:fs/promises';
import { numberOption, onExit, parseCommandLine, run, UsageError } from '../command-line.js';

const USAGE = `Usage: npm run bench -- [options]

Measures what decides whether the service is fast and cheap enough, each next to a baseline measured in the
same run, and writes its sections of docs/BENCHMARKS.md (keeping the others):
  burst         N recovery points at once through C concurrent copy jobs: makespan against N / C × copy
                time, StartCopyJob calls and LimitExceeded answers per copy, duplicates, lost copies; with
                copy slots and with the retry-only baseline (virtual time: a run takes minutes, not hours)
  cost          $ per copy from the executions' histories and the DynamoDB capacity consumed, for a 10-minute
                and a 6-hour copy, at us-east-1 prices
  cold-start    each function's zipped size and module-init time (serverless package output, fresh node
                processes) against a bare handler and a bundle constructing just the SDK clients it calls
  handler-time  each handler's warm time per invocation against local endpoints (median, p99)
Needs Java (DynamoDB Local). A full run takes about 40 minutes on 2 cores; --quick about 2.

Options:
  --quick                    a fast look: N = 100, fewer samples; writes no report unless --out is given
  --sections <list>          comma-separated subset of burst,cost,cold-start,handler-time (default: all)
  --recovery-points <list>   burst sizes N (default 100,1000,5000)
  --concurrency <list>       burst concurrent copy jobs C (default 10,50)
  --copy-minutes <n>         how long every burst copy takes (default 10)
  --busy-rate <x>            virtual ms per wall ms while handlers work (default 20)
  --out <file>               where to write the Markdown report (default docs/BENCHMARKS.md on a full run)
  --json                     print the results as one JSON object instead of tables
  --debug                    print the stack trace of an error
  --help                     this text

Exit code: 1 when the copy-slot workflow duplicated or lost a copy (burst or cost), else 0 (targets missed are
listed); 2 for bad options.`;

const SECTIONS = ['burst', 'cost', 'cold-start', 'handler-time'] as const;

/** Burst sizes and concurrencies: whole numbers above 0, comma-separated. */
const counts = (name: string, text: string): number[] =>
  text.split(',').map((item) => numberOption(name, item, { min: 0, exclusiveMin: true, integer: true }));
const positive = (name: string, text: string) => numberOption(name, text, { min: 0, exclusiveMin: true });

async function main(): Promise<number> {
  const { values } = parseCommandLine(USAGE, {
    quick: { type: 'boolean', default: false },
    sections: { type: 'string', default: SECTIONS.join(',') },
    'recovery-points': { type: 'string' },
    concurrency: { type: 'string', default: '10,50' },
    'copy-minutes': { type: 'string', default: '10' },
    'busy-rate': { type: 'string', default: '20' },
    out: { type: 'string' },
  });

  const sections = new Set(values.sections.split(','));
  for (const section of sections) {
    if (!(SECTIONS as readonly string[]).includes(section))
      throw new UsageError(`--sections: unknown section ${section} (known: ${SECTIONS.join(', ')})`);
  }
  const recoveryPoints = counts(
    'recovery-points',
    values['recovery-points'] ?? (values.quick ? '100' : '100,1000,5000'),
  );
  const concurrencies = counts('concurrency', values.concurrency);
  const copyMinutes = positive('copy-minutes', values['copy-minutes']);
  const busyRate = positive('busy-rate', values['busy-rate']);
  const out = values.out ?? (values.quick ? undefined : 'docs/BENCHMARKS.md');

  // The handlers' logger and metrics read their settings when first imported: silence them first.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const { startDynamoDbLocal } = await import('../../local/dynamodb-local.js');
  const { warmUpDynamoDb } = await import('./dynamodb-meter.js');
  const { runBurst } = await import('./burst.js');
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
    settings: { copyMinutes, busyRate },
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
        for (const n of recoveryPoints) {
          for (const concurrency of concurrencies) {
            const burstRun = (mode: 'slots' | 'retry-only') => {
              const label = `N=${n} C=${concurrency} ${mode}`;
              log('burst', `${label}: delivering`);
              return runBurst({
                dynamoDbEndpoint: dynamo.endpoint,
                recoveryPoints: n,
                concurrency,
                mode,
                copyDurationMs: copyMinutes * 60_000,
                busyRate,
                onProgress: (ended, virtualMs) =>
                  log(
                    'burst',
                    `${label}: ${ended}/${n} executions ended, ${(virtualMs / 3_600_000).toFixed(1)} virtual h`,
                  ),
              });
            };
            const slots = await burstRun('slots');
            const retryOnly = await burstRun('retry-only');
            results.bursts.push({ slots, retryOnly });
            await save();
            log(
              'burst',
              `N=${n} C=${concurrency}: makespan ${slots.makespanRatio.toFixed(2)} / ${retryOnly.makespanRatio.toFixed(2)} × ideal, lost ${slots.lost} / ${retryOnly.lost}`,
            );
          }
        }
      }
    } finally {
      await dynamo.stop();
    }
  }

  if (values.json) {
    const { bursts, ...rest } = results;
    const withoutUsage = bursts?.map((pair) => ({
      slots: { ...pair.slots, usage: undefined },
      retryOnly: { ...pair.retryOnly, usage: undefined },
    }));
    console.log(JSON.stringify({ ...rest, bursts: withoutUsage, misses: markdown.misses(results) }, null, 2));
  } else {
    console.log(markdown.renderMarkdown(results));
  }
  if (out) {
    await save();
    log('done', `wrote ${out}`);
  }
  // The cost runs use copy slots too: a duplicate or a lost copy there is as wrong as in a burst.
  const slotRuns = [...(results.bursts ?? []).map(({ slots }) => slots), ...(results.costs ?? [])];
  const incorrect = slotRuns.some((run) => run.duplicates > 0 || run.lost > 0);
  return incorrect ? 1 : 0;
}

run(main);
