/** Renders the benchmark results as Markdown: the tables of docs/BENCHMARKS.md and of the terminal summary. */
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import type { BurstResult } from './burst.js';
import type { ColdStartResult, FunctionColdStart } from './cold-start.js';
import { type CopyCost, PRICES } from './cost.js';
import type { HandlerTimeResult } from './handler-time.js';

/** What decides PASS or FAIL. */
export const TARGETS = {
  /** Issue 13, item 7: the full-size and outage cells drain within 1.05 × their quota-bound ideal with at most
   *  0.01 LimitExceeded answers per copy and no failed execution; the others are baselines. */
  burstCells: ['full-size', 'outage'] as readonly string[],
  makespanRatio: 1.05,
  limitExceededPerCopy: 0.01,
  /** Issue 13, item 7: the harness drains each full-size cell within 15 minutes on a 2-core machine. */
  wallSecondsPerCell: 15 * 60,
  dollarsPerCopy: 0.0005,
  initRatio: 1.5,
  zipBytes: 500 * 1024,
  /** A function that calls no AWS API bundles no SDK: normalizeInput. */
  zipBytesWithoutSdk: 150 * 1024,
} as const;

/** docs/BENCHMARKS.md's sections, in order; `--sections` names them by key. */
export const SECTIONS = [
  { key: 'burst', title: 'Burst drain' },
  { key: 'cost', title: 'Cost per copy' },
  { key: 'cold-start', title: 'Cold start and size' },
  { key: 'handler-time', title: 'Handler time' },
] as const;
export type SectionKey = (typeof SECTIONS)[number]['key'];

export interface Machine {
  os: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  /** The 1-minute load average when the run started: other work on the machine slows every measurement. */
  loadAverage: number;
}

export function machine(): Machine {
  return {
    os: `${type()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 10) / 10,
  };
}

export interface BenchResults {
  date: string;
  command: string;
  machine: Machine;
  settings: {
    copyMinutes: number;
    busyRate: number;
    outageMinutes: number;
    maxWallMinutes: number;
    baselineWallMinutes?: number;
    busyCores?: number;
  };
  bursts?: BurstResult[];
  costs?: CopyCost[];
  coldStart?: ColdStartResult;
  handlerTime?: HandlerTimeResult;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) =>
    `| ${cells.map((cell) => String(cell).replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

const verdict = (pass: boolean) => (pass ? 'PASS' : '**FAIL**');
const fixed = (value: number, digits = 2) => value.toFixed(digits);
const dollars = (value: number) => `$${value.toFixed(7)}`;
const hours = (seconds: number) =>
  seconds >= 3600 ? `${fixed(seconds / 3600, 1)} h` : `${fixed(seconds / 60, 0)} min`;

/** The makespan ratio; `> x` when the run was stopped before every execution ended. */
const makespan = (burst: BurstResult) =>
  burst.unfinished > 0 ? `> ${fixed(burst.makespanRatio)}` : fixed(burst.makespanRatio);

/** Every target a result misses, in words. */
export const misses = (results: BenchResults): string[] => Object.values(missesBySection(results)).flat();

function missesBySection(results: BenchResults): Record<SectionKey, string[]> {
  return {
    burst: burstMisses(results.bursts ?? []),
    cost: costMisses(results.costs ?? []),
    'cold-start': coldStartMisses(results.coldStart),
    'handler-time': [],
  };
}

const zipTarget = (fn: FunctionColdStart) =>
  fn.sdkClients.length === 0 ? TARGETS.zipBytesWithoutSdk : TARGETS.zipBytes;

export const targeted = (burst: BurstResult) => TARGETS.burstCells.includes(burst.cell);

function burstMisses(bursts: BurstResult[]): string[] {
  const found: string[] = [];
  for (const burst of bursts) {
    const at = `burst ${burst.cell} (N=${burst.recoveryPoints} × ${burst.destinations})`;
    // A duplicate copy is wrong in any cell; the baselines may lose copies, that is their point.
    if (burst.duplicates > 0) found.push(`${at}: ${burst.duplicates} duplicate copies`);
    if (burst.eventHandlerErrors > 0)
      found.push(`${at}: ${burst.eventHandlerErrors} copyJobEvents invocations failed`);
    if (!targeted(burst)) continue;
    if (burst.lost > 0)
      found.push(
        `${at}: ${burst.lost} lost copies (executions failed with ${JSON.stringify(burst.failures)})`,
      );
    if (burst.failedExecutions > 0) found.push(`${at}: ${burst.failedExecutions} failed executions`);
    if (burst.stoppedBy === 'makespan cap')
      found.push(
        `${at}: not drained by ${makespan(burst)} × ideal, ${burst.unfinished} executions still waiting`,
      );
    if (burst.stoppedBy === 'wall-clock cap')
      found.push(
        `${at}: not drained within the wall-clock budget on this machine (${burst.unfinished} executions still waiting at ${makespan(burst)} × ideal)`,
      );
    if (burst.unfinished === 0 && burst.makespanRatio > TARGETS.makespanRatio)
      found.push(`${at}: makespan ${fixed(burst.makespanRatio)} × ideal (target ≤ ${TARGETS.makespanRatio})`);
    if (burst.limitExceededPerCopy > TARGETS.limitExceededPerCopy)
      found.push(
        `${at}: ${fixed(burst.limitExceededPerCopy, 3)} LimitExceeded per copy (target ≤ ${TARGETS.limitExceededPerCopy})`,
      );
    if (burst.wallSeconds > TARGETS.wallSecondsPerCell)
      found.push(
        `${at}: ${fixed(burst.wallSeconds, 0)} s of wall time on this machine (target ≤ ${TARGETS.wallSecondsPerCell})`,
      );
  }
  return found;
}

function costMisses(costs: CopyCost[]): string[] {
  const found: string[] = [];
  for (const cost of costs) {
    if (cost.unfinished > 0)
      found.push(
        `cost, ${hours(cost.copyDurationS)} copy, C=${cost.concurrency}: stopped with ${cost.unfinished} copies unfinished`,
      );
    if (cost.dollarsPerCopy.total > TARGETS.dollarsPerCopy)
      found.push(
        `cost, ${hours(cost.copyDurationS)} copy, C=${cost.concurrency}: ${dollars(cost.dollarsPerCopy.total)} per copy`,
      );
  }
  for (const [concurrency, transitions] of transitionsByConcurrency(costs)) {
    if (new Set(transitions).size > 1)
      found.push(
        `cost, C=${concurrency}: transitions per copy change with copy duration (${transitions.join(' vs ')})`,
      );
  }
  return found;
}

function coldStartMisses(coldStart: ColdStartResult | undefined): string[] {
  return (coldStart?.functions ?? []).flatMap((fn) => [
    ...(fn.zipBytes > zipTarget(fn)
      ? [`${fn.name}: ${fixed(fn.zipBytes / 1024, 0)} KiB zipped (target ≤ ${zipTarget(fn) / 1024} KiB)`]
      : []),
    ...(fn.ratio > TARGETS.initRatio
      ? [`${fn.name}: init ${fixed(fn.ratio)} × floor + its SDK clients (target ≤ ${TARGETS.initRatio})`]
      : []),
  ]);
}

function transitionsByConcurrency(costs: CopyCost[]): Map<number, string[]> {
  const grouped = new Map<number, string[]>();
  for (const cost of costs) {
    grouped.set(cost.concurrency, [...(grouped.get(cost.concurrency) ?? []), fixed(cost.transitionsPerCopy)]);
  }
  return grouped;
}

export function burstTable(bursts: BurstResult[]): string {
  const target = (burst: BurstResult, text: string, pass: boolean) =>
    targeted(burst) ? `${text} ${verdict(pass)}` : text;
  return table(
    [
      'cell',
      'copies (N × D, Regions)',
      'throttle',
      'ideal',
      'makespan ÷ ideal',
      'LimitExceeded per copy',
      'StartCopyJob per copy',
      'failed executions',
      'duplicates',
      'lost',
      'unfinished at stop (copies completed)',
      'transitions per copy',
      'DynamoDB requests per copy',
      'wall s',
      'CPU s (Node.js + DynamoDB Local)',
      'wall ms per copy',
    ],
    bursts.map((burst) => [
      burst.cell,
      `${burst.copies} (${burst.recoveryPoints} × ${burst.destinations}, ${burst.regions})`,
      burst.mode === 'slots' ? `COPY_SLOTS = ${burst.copySlots}` : 'Retry only',
      `${hours(burst.idealS)}${burst.outageS > 0 ? ` (${hours(burst.outageS)} outage)` : ''}`,
      target(burst, makespan(burst), burst.unfinished === 0 && burst.makespanRatio <= TARGETS.makespanRatio),
      target(
        burst,
        fixed(burst.limitExceededPerCopy, 3),
        burst.limitExceededPerCopy <= TARGETS.limitExceededPerCopy,
      ),
      fixed(burst.startCopyJobPerCopy),
      target(burst, String(burst.failedExecutions), burst.failedExecutions === 0),
      target(burst, String(burst.duplicates), burst.duplicates === 0),
      target(burst, String(burst.lost), burst.lost === 0),
      `${burst.unfinished} (${burst.completedCopies ?? '?'})`,
      fixed(burst.transitionsPerCopy),
      fixed(burst.dynamoDbRequestsPerCopy, 1),
      target(burst, fixed(burst.wallSeconds, 0), burst.wallSeconds <= TARGETS.wallSecondsPerCell),
      `${fixed(burst.nodeCpuSeconds, 0)} + ${burst.dynamoDbCpuSeconds === null ? '?' : fixed(burst.dynamoDbCpuSeconds, 0)}`,
      fixed(burst.wallMsPerCopy, 1),
    ]),
  );
}

export function costTable(costs: CopyCost[]): string {
  const transitions = transitionsByConcurrency(costs);
  return table(
    [
      'copy',
      'N',
      'C',
      'unfinished at stop',
      'transitions per copy',
      'same for every duration',
      'Lambda invocations per copy',
      'GB-s per copy',
      'RRU per copy',
      'WRU per copy',
      'Step Functions',
      'Lambda',
      'DynamoDB',
      '$ per copy',
      `target ≤ $${TARGETS.dollarsPerCopy}`,
    ],
    costs.map((cost) => [
      hours(cost.copyDurationS),
      cost.recoveryPoints,
      cost.concurrency,
      cost.unfinished,
      fixed(cost.transitionsPerCopy),
      verdict(new Set(transitions.get(cost.concurrency)).size === 1),
      fixed(cost.lambdaInvocationsPerCopy),
      fixed(cost.gbSecondsPerCopy, 4),
      fixed(cost.readUnitsPerCopy, 1),
      fixed(cost.writeUnitsPerCopy, 1),
      dollars(cost.dollarsPerCopy.stepFunctions),
      dollars(cost.dollarsPerCopy.lambdaRequests + cost.dollarsPerCopy.lambdaCompute),
      dollars(cost.dollarsPerCopy.dynamoDb),
      dollars(cost.dollarsPerCopy.total),
      verdict(cost.dollarsPerCopy.total <= TARGETS.dollarsPerCopy),
    ]),
  );
}

export function invocationTable(costs: CopyCost[]): string {
  const names = [...new Set(costs.flatMap((cost) => Object.keys(cost.invocationsByFunction)))];
  return table(
    ['copy', 'C', ...names],
    costs.map((cost) => [
      hours(cost.copyDurationS),
      cost.concurrency,
      ...names.map((name) => fixed(cost.invocationsByFunction[name] ?? 0)),
    ]),
  );
}

export function coldStartTable(coldStart: ColdStartResult): string {
  return table(
    [
      'function',
      'zipped',
      'target',
      'init ms',
      'SDK clients it constructs',
      'floor + those clients ms',
      'ratio',
      `≤ ${TARGETS.initRatio}`,
    ],
    [
      ['bare handler (floor)', '—', '—', fixed(coldStart.floorMs), '—', '—', '—', '—'],
      ...coldStart.functions.map((fn) => [
        fn.name,
        `${fixed(fn.zipBytes / 1024, 0)} KiB`,
        `≤ ${zipTarget(fn) / 1024} KiB ${verdict(fn.zipBytes <= zipTarget(fn))}`,
        fixed(fn.initMs),
        fn.sdkClients.join(', ') || 'none',
        fixed(fn.floorWithSdkMs),
        fixed(fn.ratio),
        verdict(fn.ratio <= TARGETS.initRatio),
      ]),
    ],
  );
}

export function handlerTable(handlerTime: HandlerTimeResult): string {
  return table(
    ['function', 'path', 'invocations', 'median ms', 'p99 ms'],
    handlerTime.handlers.map((h) => [
      h.function,
      h.scenario,
      h.invocations,
      fixed(h.medianMs),
      fixed(h.p99Ms),
    ]),
  );
}

/** The text of each section `results` measured (after its heading), from the line naming the run. */
function measuredSections(results: BenchResults): Map<SectionKey, string[]> {
  const m = results.machine;
  const run = `Measured by \`${results.command}\` on ${results.date} — ${m.os}, ${m.cpu} (${m.cores} cores, load average ${m.loadAverage} at the start), ${m.memoryGiB} GiB memory, Node.js ${m.node}.`;
  const sections = new Map<SectionKey, string[]>();
  if (results.bursts) {
    sections.set('burst', [
      run,
      '',
      `N recovery points arrive at once, each copied to D destination vaults, one per destination Region; every copy takes ${results.settings.copyMinutes} minutes. AWS Backup (the emulator) enforces AWS's copy quotas ("AWS Backup quotas", developer guide): 100 concurrent copy jobs per account per destination Region plus 5 per destination vault, and 1 concurrent job per resource, answering LimitExceededException beyond them. Cells, all in this run with the real state machine and handlers: **full-size** (the default copy slots, shaped like the quotas), **global-10** (the old default of 10 copies in flight, as 5 slots per Region; the 5-per-vault overflow still applies), **retry-only** (no slots: the state machine's Retry alone) and **outage** (the full-size cell with every Backup operation answering ServiceUnavailableException for ${results.settings.outageMinutes} minutes from half the ideal on). Ideal = the quota-bound drain: each Region runs ⌈its copies / (100 + 5 × its vaults)⌉ rounds of copies, and a recovery point's D copies take turns (≥ D × copy time); plus the outage. Makespan = first delivery to the end of the last execution. *Lost* = copies whose execution ended without a COMPLETED copy job. Targets (full-size and outage cells): makespan ≤ ${TARGETS.makespanRatio} × ideal, ≤ ${TARGETS.limitExceededPerCopy} LimitExceeded answers per copy, 0 failed executions, 0 duplicates, 0 lost, and at most ${TARGETS.wallSecondsPerCell} s of wall time on this machine. A cell that has not drained by its makespan cap or after ${results.settings.maxWallMinutes} wall-clock minutes (the baselines: ${results.settings.baselineWallMinutes ?? results.settings.maxWallMinutes}) is stopped: its makespan reads \`> x\` and its still-waiting executions are *unfinished at stop*.`,
      '',
      `Virtual time: the emulator's clock and the state machine's timers (Retry backoff with its jitter, task timeouts) run on a discrete-event clock that jumps to the next due event whenever nothing is in flight, and runs ${results.settings.busyRate}× the wall clock while handlers work, so a local millisecond of work counts about what the same calls take on AWS${results.settings.busyCores ? ` (shared: with more than ${results.settings.busyCores} invocations in flight, at their share of ${results.settings.busyCores} cores, as each Lambda has its own CPU on AWS)` : ''}. The wall-clock seconds are this machine's, DynamoDB Local included; on a shared machine they are pessimistic, so each cell also gives the CPU seconds of this process and of DynamoDB Local.`,
      '',
      burstTable(results.bursts),
    ]);
  }
  if (results.costs) {
    sections.set('cost', [
      run,
      '',
      "From the executions' event histories (state transitions as Step Functions bills them: states entered plus retries; Lambda invocations scheduled), plus the copyJobEvents invocations EventBridge makes, plus every DynamoDB request's ConsumedCapacity (at least 1 unit a request; a failed conditional write is charged the size of the item it checked). GB-seconds = configured memory (256 MB) × each invocation's measured handler time, rounded up to 1 ms, in this run. One destination per recovery point, so every execution is one copy. C = N: every copy gets a slot at once; C < N: copies queue for slots.",
      '',
      "Prices, us-east-1: Step Functions Standard $0.025 per 1,000 state transitions ([pricing](https://aws.amazon.com/step-functions/pricing/)); Lambda Arm $0.20 per 1M requests and $0.0000133334 per GB-second ([pricing](https://aws.amazon.com/lambda/pricing/)); DynamoDB on-demand $0.625 per million write request units and $0.125 per million read request units ([pricing](https://aws.amazon.com/dynamodb/pricing/on-demand/)). EventBridge: events AWS services publish to the default bus, and their delivery to a rule's targets, are free ([pricing](https://aws.amazon.com/eventbridge/pricing/)). Not counted: CloudWatch Logs ingestion, DynamoDB storage and backups, and the AWS Backup copy itself (storage, cross-region transfer).",
      '',
      costTable(results.costs),
      '',
      'Lambda invocations per copy, by function:',
      '',
      invocationTable(results.costs),
      '',
      `Prices used per unit: ${Object.entries(PRICES)
        .map(([name, price]) => `${name} $${price.toExponential(4)}`)
        .join(', ')}.`,
    ]);
  }
  if (results.coldStart) {
    sections.set('cold-start', [
      run,
      '',
      `Each function as \`serverless package\` bundles it (esbuild, minified, CommonJS, from the packages' ES module builds so unused SDK code is dropped). Init = median over ${results.coldStart.samples} fresh \`node\` processes of the time \`require()\` of the handler bundle takes (Lambda's init phase), with the function's environment, on Node.js ${results.coldStart.nodeVersion} (Lambda runs nodejs22.x). Floor + those clients = a bundle built with the same esbuild settings that only constructs, with lib/aws/clients.ts, the SDK clients the function's code constructs (the client classes in its bundle, which test/integration/iam.test.ts holds to the services its IAM role allows); none for a function that calls no AWS API. The functions construct their clients on their first invocation, not at init. Zip target: ${TARGETS.zipBytesWithoutSdk / 1024} KiB for a function without SDK clients, else ${TARGETS.zipBytes / 1024} KiB.`,
      '',
      coldStartTable(results.coldStart),
    ]);
  }
  if (results.handlerTime) {
    const notMeasured = results.handlerTime.notMeasured;
    sections.set('handler-time', [
      run,
      '',
      "Each handler built with its createHandler over local endpoints (DynamoDB Local, the Backup emulator, the local Step Functions service), warmed up, then invoked one at a time with valid inputs along a copy's path. Task tokens are well formed but held by no task, so SendTaskSuccess makes its full round trip.",
      '',
      handlerTable(results.handlerTime),
      ...(notMeasured.length > 0
        ? ['', `Not measured (not on a copy's path): ${notMeasured.join(', ')}.`]
        : []),
    ]);
  }
  return sections;
}

const heading = (index: number) => `${index + 1}. ${SECTIONS[index]?.title}`;

/**
 * The sections of an earlier report: each one's text after its heading, and its lines of the Targets missed list
 * (which start with the section's title).
 */
export function parseReport(document: string): Map<SectionKey, { text: string[]; misses: string[] }> {
  const blocks = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of document.split('\n')) {
    if (line.startsWith('## ')) {
      current = [];
      blocks.set(line.slice(3), current);
    } else current?.push(line);
  }
  const missed = blocks.get('Targets missed') ?? [];
  const parsed = new Map<SectionKey, { text: string[]; misses: string[] }>();
  SECTIONS.forEach(({ key, title }, index) => {
    const text = blocks.get(heading(index));
    if (!text) return;
    while (text.at(0) === '') text.shift();
    while (text.at(-1) === '') text.pop();
    const prefix = `- ${title}: `;
    const misses = missed.filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length));
    parsed.set(key, { text, misses });
  });
  return parsed;
}

/**
 * docs/BENCHMARKS.md: the sections `results` measured, and every other section as `previous` (the report
 * before this run) has it, so a run of some sections keeps the others.
 */
export function renderMarkdown(results: BenchResults, previous?: string): string {
  const measured = measuredSections(results);
  const measuredMisses = missesBySection(results);
  const kept = previous ? parseReport(previous) : undefined;
  const sections = SECTIONS.flatMap(({ key, title }, index) => {
    const text = measured.get(key);
    if (text) return [{ title, heading: heading(index), text, misses: measuredMisses[key] }];
    const earlier = kept?.get(key);
    return earlier ? [{ title, heading: heading(index), ...earlier }] : [];
  });
  const missed = sections.flatMap(({ title, misses }) => misses.map((miss) => `- ${title}: ${miss}`));
  return [
    '# Benchmarks',
    '',
    'Generated by `npm run bench`; do not edit by hand. Each section names the run that measured it: a run of some sections (`--sections`) replaces those and keeps the others.',
    '',
    '## Targets missed',
    '',
    ...(missed.length > 0 ? missed : ['None.']),
    '',
    ...sections.flatMap((section) => [`## ${section.heading}`, '', ...section.text, '']),
  ].join('\n');
}
