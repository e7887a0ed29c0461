/**
 * A local fake of the AWS Backup API (AWS Backup cannot run locally). A real HTTP server on 127.0.0.1 that
 * speaks restJson1 as @aws-sdk/client-backup serializes it: URL-encoded ARNs in paths, ISO-8601 query
 * timestamps, epoch-second body timestamps, and errors named by the `x-amzn-errortype` header.
 * Covers the copy-job slice: StartCopyJob, DescribeCopyJob, ListCopyJobs, DescribeRecoveryPoint,
 * ListRecoveryPointsByBackupVault; anything else is answered with UnknownOperationException (404).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  CopyJob,
  CopyJobState,
  DescribeRecoveryPointOutput,
  Lifecycle,
  RecoveryPointCreator,
  StartCopyJobInput,
} from '@aws-sdk/client-backup';
import {
  DEFAULT_REGIONAL_COPY_SLOTS,
  RESOURCE_SLOTS,
  VAULT_OVERFLOW_SLOTS,
} from '../lib/domain/copy-slots.js';
import { COPYABLE_STATUS_RULE, isCopyableStatus } from '../lib/domain/recovery-point.js';
import {
  copyDirectionRefusal,
  isFullyManaged,
  isMultiAzDbCluster,
  supportsArchiveTier,
  supportsColdStorage,
} from '../lib/domain/resource-types.js';
import { CONNECTION_RESET, FaultQueue, faultStatus, isHttpStatus, requestText } from './aws-faults.js';
import { type Clock, type ClockTimer, wallClock } from './clock.js';

export type BackupOperation =
  | 'StartCopyJob'
  | 'DescribeCopyJob'
  | 'ListCopyJobs'
  | 'DescribeRecoveryPoint'
  | 'ListRecoveryPointsByBackupVault';

/** The API's copy job states: ABORTED is not one (lib/copy.ts, COPY_JOB_STATE_OUTCOME). */
export type EmulatedCopyJobState = CopyJobState;

export interface BackupEmulatorOptions {
  /** Region in generated ARNs and events. Default 'us-east-1'. */
  region?: string;
  /** Account for generated ARNs and for recovery points whose ARN carries none (EBS snapshots). */
  accountId?: string;
  /** The clock of job timing and dates: each job changes state on it when due. Default the wall clock. */
  clock?: Clock;
  /** Port to listen on, on 127.0.0.1. Default 0 (random). */
  port?: number;
  /** A copy job turns RUNNING this long after it is created. Default 0. */
  runningAfterMs?: number;
  /** A copy job finishes this long after it is created. Default 0. */
  copyDurationMs?: number;
  /** Copy jobs CREATED or RUNNING per account before StartCopyJob answers LimitExceededException: an account-wide
   *  cap for quick experiments (AWS has none), on top of `copyQuotas`. Default Infinity. */
  concurrencyLimit?: number;
  /** AWS Backup's concurrent copy job quotas, enforced with LimitExceededException. Default AWS's. */
  copyQuotas?: CopyQuotas;
  /** Windows of the clock (epoch ms, `from` inclusive, `to` exclusive) in which every operation answers
   *  ServiceUnavailableException (HTTP 503), as in a regional outage; copy jobs keep running. Default none. */
  outages?: readonly { from: number; to: number }[];
  /** How long an IdempotencyToken maps to its job. Default 24 h. */
  idempotencyWindowMs?: number;
  /** Swallow Copy Job State Change events (EventBridge delivery is best effort). Default false. */
  dropCopyJobEvents?: boolean;
  /** Delay per operation. */
  operationLatencyMs?: Partial<Record<BackupOperation, number>>;
  /** Page size of list operations when MaxResults is absent. Default 100. */
  defaultPageSize?: number;
  /** Vaults that exist without a seeded recovery point (seeding adds its vault). Default ['primary']. */
  vaults?: readonly string[];
  /** Describes a recovery point nobody seeded, in a vault that exists, as a completed EBS one (for trying the
   *  functions by hand); otherwise it is ResourceNotFoundException. Default false. */
  describeUnseededRecoveryPoints?: boolean;
}

/**
 * AWS Backup's quotas on concurrent copy jobs ("AWS Backup quotas",
 * https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html).
 */
export interface CopyQuotas {
  /** Per source account per destination Region, for fully managed resource types. AWS: 100. */
  perRegion: number;
  /** Per destination vault once perRegion is reached. AWS: 5. */
  perVaultOverflow: number;
  /** Backup or copy jobs per source resource. AWS: 1. */
  perResource: number;
}

export const AWS_COPY_QUOTAS: CopyQuotas = {
  perRegion: DEFAULT_REGIONAL_COPY_SLOTS,
  perVaultOverflow: VAULT_OVERFLOW_SLOTS,
  perResource: RESOURCE_SLOTS,
};

type ResolvedOptions = Required<BackupEmulatorOptions>;

const MAX_TIMER_MS = 2 ** 31 - 1;

/** A seeded recovery point: DescribeRecoveryPoint's output, with the fields the emulator always fills. */
export type RecoveryPoint = DescribeRecoveryPointOutput &
  Required<
    Pick<
      DescribeRecoveryPointOutput,
      | 'RecoveryPointArn'
      | 'BackupVaultName'
      | 'BackupVaultArn'
      | 'ResourceArn'
      | 'ResourceType'
      | 'Status'
      | 'CreationDate'
      | 'IamRoleArn'
      | 'IsParent'
      | 'BackupSizeInBytes'
      | 'StorageClass'
    >
  >;

/** One copy job as the emulator sees it. */
export interface EmulatedCopyJob {
  copyJobId: string;
  state: EmulatedCopyJobState;
  idempotencyToken: string | undefined;
  /** The StartCopyJob body as received. */
  request: StartCopyJobInput;
  /** What DescribeCopyJob answers right now. */
  copyJob: CopyJob;
}

/** Copy Job State Change, shaped like the examples in the AWS Backup EventBridge documentation. */
export interface CopyJobStateChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'Copy Job State Change';
  source: 'aws.backup';
  account: string;
  time: string;
  region: string;
  /** The source recovery point ARN. */
  resources: string[];
  detail: {
    copyJobId: string;
    state: EmulatedCopyJobState;
    creationDate: string;
    sourceBackupVaultArn: string;
    destinationBackupVaultArn: string;
    backupSizeInBytes?: number;
    iamRoleArn?: string;
    resourceArn?: string;
    resourceType?: string;
    statusMessage?: string;
    completionDate?: string;
    /** AWS sends `{}` until the copy has a destination recovery point. */
    destinationRecoveryPointArn?: string | Record<string, never>;
    createdBy?: {
      backupPlanId?: string;
      backupPlanArn?: string;
      backupPlanVersion?: string;
      backupPlanRuleId?: string;
    };
  };
}

export interface FaultSpec {
  operation: BackupOperation;
  /**
   * Exception name, e.g. 'ServiceUnavailableException', 'ThrottlingException', 'LimitExceededException';
   * a bare HTTP status ('502'); or 'ECONNRESET': the connection is dropped without an answer.
   */
  error: string;
  /** How many upcoming calls of the operation fail. Default 1. */
  count?: number;
  /** HTTP status; default local/aws-faults.ts's faultStatus (the status AWS gives the code). */
  status?: number;
  message?: string;
  /** Only calls whose request (URL-decoded path and body) contains one of these. Default every call. */
  match?: readonly string[];
  /** Carry out the call, then answer with the error: AWS acted but the response was lost. */
  afterApply?: boolean;
}

export interface CopyMatcher {
  recoveryPointArn?: string | RegExp;
  destinationBackupVaultArn?: string | RegExp;
}

export interface CopyOutcome {
  state: 'FAILED' | 'PARTIAL';
  message?: string;
  /** The job's MessageCategory, e.g. AccessDenied or InvalidParameters (the SDK's examples). Default AccessDenied. */
  messageCategory?: string;
  /** How many upcoming matching jobs get this outcome. Default 1. */
  times?: number;
}

export interface CallStats {
  /** Requests per operation, including refused and faulted ones. */
  operations: Partial<Record<BackupOperation | 'Unknown', number>>;
  /** Error answers per exception name. */
  errors: Record<string, number>;
  /** StartCopyJob calls answered with an existing job because of their IdempotencyToken. */
  idempotentReplays: number;
}

export type CopyJobListener = (event: CopyJobStateChangeEvent) => void;

interface JobRecord {
  id: string;
  seq: number;
  state: EmulatedCopyJobState;
  token: string | undefined;
  request: StartCopyJobInput;
  source: RecoveryPoint;
  accountId: string;
  createdAt: number;
  runningAt: number;
  finishAt: number;
  outcome: { state: 'COMPLETED' | CopyOutcome['state']; message?: string; messageCategory?: string };
  completedAt?: number;
  destinationRecoveryPointArn?: string;
  /** A composite's nested copy jobs: one per nested recovery point, each moving with its parent. */
  children: ChildJob[];
  /** Admitted on its vault's overflow quota, the regional one being full. */
  overflow: boolean;
}

interface ChildJob {
  id: string;
  source: RecoveryPoint;
  destinationRecoveryPointArn?: string;
}

interface FailRule {
  matcher: CopyMatcher;
  outcome: CopyOutcome;
  remaining: number;
}

/** An error answer: status, exception name (x-amzn-errortype) and message. */
class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const VAULT_NAME = /^[a-zA-Z0-9\-_]{2,50}$/;
const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/;
const DAY_MS = 86_400_000;
const REQUIRED_START_PARAMS = [
  'RecoveryPointArn',
  'SourceBackupVaultName',
  'DestinationBackupVaultArn',
  'IamRoleArn',
];

export class BackupEmulator {
  /** Resolved options; fields may be changed while running (e.g. concurrencyLimit, dropCopyJobEvents). */
  readonly options: ResolvedOptions;
  calls: CallStats = { operations: {}, errors: {}, idempotentReplays: 0 };
  /** Events delivered to listeners, in order. */
  readonly events: CopyJobStateChangeEvent[] = [];
  private readonly server: Server;
  private readonly timers = new Set<ClockTimer>();
  private port = 0;
  private seq = 0;
  private recoveryPoints = new Map<string, RecoveryPoint>();
  private vaults = new Set<string>();
  private jobs = new Map<string, JobRecord>();
  /** Jobs CREATED or RUNNING, oldest first: what advance() and the quotas look at, however many jobs ended. */
  private activeJobs = new Set<JobRecord>();
  private tokens = new Map<string, { jobId: string; fingerprint: string; at: number }>();
  private readonly faults = new FaultQueue<FaultSpec>();
  private failRules: FailRule[] = [];
  private listeners = new Set<CopyJobListener>();

  private constructor(options: BackupEmulatorOptions) {
    this.options = {
      region: 'us-east-1',
      accountId: '111111111111',
      clock: wallClock,
      port: 0,
      runningAfterMs: 0,
      copyDurationMs: 0,
      concurrencyLimit: Number.POSITIVE_INFINITY,
      copyQuotas: AWS_COPY_QUOTAS,
      outages: [],
      idempotencyWindowMs: DAY_MS,
      dropCopyJobEvents: false,
      operationLatencyMs: {},
      defaultPageSize: 100,
      vaults: ['primary'],
      describeUnseededRecoveryPoints: false,
      ...options,
    };
    this.vaults = new Set(this.options.vaults);
    this.server = createServer((req, res) => void this.onRequest(req, res));
    // Node closes a keep-alive socket idle for 5 s; under a burst the SDK reuses one just as it closes (ECONNRESET).
    this.server.keepAliveTimeout = 10 * 60_000;
  }

  static async start(options: BackupEmulatorOptions = {}): Promise<BackupEmulator> {
    const emulator = new BackupEmulator(options);
    await new Promise<void>((resolve, reject) => {
      emulator.server.once('error', reject);
      emulator.server.listen(emulator.options.port, '127.0.0.1', resolve);
    });
    emulator.port = (emulator.server.address() as AddressInfo).port;
    return emulator;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Adds (or replaces, by vault + ARN) a recovery point; returns the live record. Members not given get what
   * AWS Backup reports for the resource type (RESOURCE_SHAPES): a resource ARN and name, a size, a backup
   * plan's CreatedBy and Lifecycle, the vault's KMS key. A CloudFormation recovery point is a composite; seed
   * its nested recovery points with ParentRecoveryPointArn set to it.
   */
  seedRecoveryPoint(partial: Partial<RecoveryPoint> = {}): RecoveryPoint {
    const { region, accountId } = this.options;
    const arn =
      partial.RecoveryPointArn ?? `arn:aws:backup:${region}:${accountId}:recovery-point:${randomUUID()}`;
    const account = ARN.exec(arn)?.[1] ?? accountId;
    const vault = partial.BackupVaultName ?? 'primary';
    const created = partial.CreationDate ?? new Date(this.options.clock.now());
    const resourceType = partial.ResourceType ?? 'EBS';
    const defaults = defaultsFor(resourceType);
    const status = partial.Status ?? 'COMPLETED';
    const vaultArn = `arn:aws:backup:${region}:${account}:backup-vault:${vault}`;
    const plan = backupPlan(region, account);
    const rp: RecoveryPoint = {
      BackupVaultArn: vaultArn,
      ResourceArn: defaults.resourceArn(region, account),
      ResourceType: resourceType,
      ResourceName: defaults.resourceName,
      Status: status,
      // The backup job was initiated before its recovery point was created; a CREATING one has not completed.
      InitiationDate: new Date(created.getTime() - BACKUP_START_MS),
      ...(status === 'CREATING' ? {} : { CompletionDate: created }),
      ...(STATUS_MESSAGES[status] ? { StatusMessage: STATUS_MESSAGES[status] } : {}),
      IamRoleArn: `arn:aws:iam::${account}:role/service-role/AWSBackupDefaultServiceRole`,
      CreatedBy: plan,
      Lifecycle: { ...defaults.lifecycle },
      IsParent: resourceType === 'CloudFormation',
      IsEncrypted: true,
      EncryptionKeyArn: kmsKeyArn(vaultArn),
      EncryptionKeyType: 'CUSTOMER_MANAGED_KMS_KEY',
      BackupSizeInBytes: defaults.sizeInBytes,
      StorageClass: 'WARM',
      VaultType: 'BACKUP_VAULT',
      ...(partial.ParentRecoveryPointArn ? { CompositeMemberIdentifier: defaults.logicalId } : {}),
      ...partial,
      RecoveryPointArn: arn,
      BackupVaultName: vault,
      CreationDate: created,
    };
    if (!('CalculatedLifecycle' in partial))
      rp.CalculatedLifecycle = calculatedLifecycle(created, rp.Lifecycle);
    this.vaults.add(vault);
    this.recoveryPoints.set(rpKey(vault, arn), rp);
    return rp;
  }

  /** All copy jobs StartCopyJob created, oldest first (a composite's nested jobs are in its CopyJob's counts). */
  copyJobs(): EmulatedCopyJob[] {
    this.advance();
    return [...this.jobs.values()].map((rec) => ({
      copyJobId: rec.id,
      state: rec.state,
      idempotencyToken: rec.token,
      request: rec.request,
      copyJob: this.view(rec),
    }));
  }

  /** The next `count` calls of `operation` answer `error`. */
  injectFault(fault: FaultSpec): void {
    this.faults.add(fault);
  }

  /** The next `times` jobs matching `matcher` end in `outcome.state` instead of COMPLETED. */
  failCopy(matcher: CopyMatcher, outcome: CopyOutcome): void {
    this.failRules.push({ matcher, outcome, remaining: outcome.times ?? 1 });
  }

  /** Subscribes to Copy Job State Change events; returns the unsubscribe function. */
  onCopyJobStateChange(listener: CopyJobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Moves every job to the state the clock says it is in, emitting one event per transition. */
  advance(): void {
    const now = this.options.clock.now();
    for (const rec of this.activeJobs) {
      if (rec.state === 'CREATED' && now >= rec.runningAt) this.transition(rec, 'RUNNING', rec.runningAt);
      if (rec.state === 'RUNNING' && now >= rec.finishAt) this.finish(rec, rec.finishAt);
    }
  }

  /** Finishes every unfinished job now, whatever the clock says; returns how many it finished. */
  settle(): number {
    this.advance();
    const now = this.options.clock.now();
    let finished = 0;
    for (const rec of this.jobs.values()) {
      if (rec.state === 'CREATED') this.transition(rec, 'RUNNING', now);
      if (rec.state === 'RUNNING') {
        this.finish(rec, now);
        finished++;
      }
    }
    return finished;
  }

  /** Forgets recovery points, jobs, tokens, faults, outcomes, counters and events; keeps listeners and options. */
  reset(): void {
    this.recoveryPoints.clear();
    this.vaults = new Set(this.options.vaults);
    this.jobs.clear();
    this.activeJobs.clear();
    this.tokens.clear();
    this.faults.clear();
    this.failRules = [];
    this.events.length = 0;
    this.calls = { operations: {}, errors: {}, idempotentReplays: 0 };
  }

  async close(): Promise<void> {
    for (const timer of this.timers) this.options.clock.clearTimeout(timer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // the SDK keeps sockets alive; close() alone would wait for them
    await closed;
  }

  /** Listeners hear of a job's state change when it is due, without anyone polling. */
  private advanceAt(at: number): void {
    const { clock } = this.options;
    const timer = clock.setTimeout(
      () => {
        this.timers.delete(timer);
        this.advance();
        if (clock.now() < at) this.advanceAt(at);
      },
      // setTimeout turns a delay beyond 2^31-1 ms into 1 ms: wait at most that long, then again.
      Math.min(Math.max(0, at - clock.now()), MAX_TIMER_MS),
    );
    this.timers.add(timer);
  }

  // ---- HTTP ----

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const route = matchRoute(req.method ?? 'GET', url.pathname);
    const operation = route?.operation ?? 'Unknown';
    this.calls.operations[operation] = (this.calls.operations[operation] ?? 0) + 1;
    try {
      if (!route) {
        throw new ApiError(
          'UnknownOperationException',
          `No operation for ${req.method} ${url.pathname}`,
          404,
        );
      }
      const delay = this.options.operationLatencyMs[route.operation] ?? 0;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      this.advance();
      const now = this.options.clock.now();
      if (this.options.outages.some(({ from, to }) => from <= now && now < to)) {
        throw new ApiError('ServiceUnavailableException', 'Injected outage', 503);
      }
      const fault = this.faults.take(
        route.operation,
        requestText(url.pathname, Buffer.concat(chunks).toString('utf8')),
      );
      if (fault && !fault.afterApply) throw faultError(fault);
      const result = this.dispatch(route, parseBody(chunks), url.searchParams);
      if (fault) throw faultError(fault);
      send(res, 200, toWire(result));
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError('InternalFailure', String(err), 500);
      this.calls.errors[error.code] = (this.calls.errors[error.code] ?? 0) + 1;
      if (error.code === CONNECTION_RESET) {
        req.socket.resetAndDestroy();
        return;
      }
      if (isHttpStatus(error.code)) {
        // A gateway's answer: no AWS error type, not even JSON; the SDK can go only by the status.
        res.writeHead(error.status, { 'content-type': 'text/plain' }).end(`${error.status} ${error.message}`);
        return;
      }
      const type = error.status >= 500 ? 'server' : 'client';
      // The SDK names the exception from this header (before the body's Code); AWS appends a namespace URI.
      // The body carries every member of AWS Backup's error structures: Code, Message, Type and Context (the
      // model leaves Type and Context undocumented; here they are the fault and the request).
      send(
        res,
        error.status,
        { Code: error.code, Message: error.message, Type: type, Context: `${req.method} ${url.pathname}` },
        {
          'x-amzn-errortype': `${error.code}:http://internal.amazon.com/coral/com.amazonaws.services.cryo/`,
        },
      );
    }
  }

  private dispatch(route: Route, body: Record<string, unknown>, query: URLSearchParams): object {
    switch (route.operation) {
      case 'StartCopyJob':
        return this.startCopyJob(body);
      case 'DescribeCopyJob': {
        const rec = this.jobs.get(route.id);
        if (rec) return { CopyJob: this.view(rec) };
        const nested = this.allViews().find(({ job }) => job.CopyJobId === route.id);
        if (!nested) throw new ApiError('ResourceNotFoundException', `Copy job ${route.id} was not found`);
        return { CopyJob: nested.job };
      }
      case 'ListCopyJobs':
        return this.listCopyJobs(query);
      case 'DescribeRecoveryPoint':
        return this.findRecoveryPoint(route.vault, route.arn);
      case 'ListRecoveryPointsByBackupVault':
        return this.listRecoveryPoints(route.vault, query);
    }
  }

  /** How many injected fault answers are still to be given. */
  pendingFaults(): number {
    return this.faults.pending();
  }

  // ---- StartCopyJob ----

  private startCopyJob(body: Record<string, unknown>): object {
    for (const name of REQUIRED_START_PARAMS) {
      if (body[name] === undefined || body[name] === null || body[name] === '') {
        throw new ApiError('MissingParameterValueException', `Missing required parameter: ${name}`);
      }
      if (typeof body[name] !== 'string') {
        throw new ApiError('InvalidParameterValueException', `${name} must be a string`);
      }
    }
    const request = body as unknown as StartCopyJobInput & {
      RecoveryPointArn: string;
      SourceBackupVaultName: string;
    };
    if (!VAULT_NAME.test(request.SourceBackupVaultName)) {
      throw new ApiError(
        'InvalidParameterValueException',
        `SourceBackupVaultName '${request.SourceBackupVaultName}' must match ^[a-zA-Z0-9\\-\\_]{2,50}$`,
      );
    }
    for (const name of ['RecoveryPointArn', 'DestinationBackupVaultArn', 'IamRoleArn'] as const) {
      if (!ARN.test(request[name] as string)) {
        throw new ApiError('InvalidParameterValueException', `Invalid ARN for ${name}: ${request[name]}`);
      }
    }
    const now = this.options.clock.now();
    const token = request.IdempotencyToken;
    const { IdempotencyToken: _token, ...identity } = request;
    const fingerprint = canonicalJson(identity);
    const prior = token === undefined ? undefined : this.tokens.get(token);
    if (prior && now - prior.at < this.options.idempotencyWindowMs) {
      // Idempotency-token APIs refuse a reused token carrying a different request rather than guess which one wins.
      if (prior.fingerprint !== fingerprint) {
        throw new ApiError(
          'InvalidRequestException',
          `IdempotencyToken ${token} was already used with a different request`,
        );
      }
      const rec = this.jobs.get(prior.jobId);
      if (rec) {
        this.calls.idempotentReplays++;
        return { CopyJobId: rec.id, CreationDate: new Date(rec.createdAt), IsParent: rec.source.IsParent };
      }
    }
    if (request.RecoveryPointArn.includes(':recovery-point:continuous:')) {
      throw new ApiError('InvalidRequestException', 'Does not support continuous backups');
    }
    const source = this.findRecoveryPoint(request.SourceBackupVaultName, request.RecoveryPointArn);
    // The same statuses as the code's (lib/domain/recovery-point.ts, which cites AWS's documentation).
    if (!isCopyableStatus(source.Status, source.IsParent)) {
      throw new ApiError(
        'InvalidRequestException',
        `Recovery point ${source.RecoveryPointArn} is ${source.Status}; it ${COPYABLE_STATUS_RULE}`,
      );
    }
    this.refuseForResourceType(source, request.DestinationBackupVaultArn as string);
    this.validateLifecycle(request.Lifecycle, source.ResourceType);
    const accountId = ARN.exec(source.RecoveryPointArn)?.[1] ?? this.options.accountId;
    const active = [...this.activeJobs].filter((j) => j.accountId === accountId);
    if (active.length >= this.options.concurrencyLimit) {
      throw new ApiError(
        'LimitExceededException',
        `Account ${accountId} already has ${active.length} copy jobs in progress (limit ${this.options.concurrencyLimit})`,
      );
    }
    const overflow = this.checkQuotas(source, request.DestinationBackupVaultArn ?? '', accountId);
    const runningAt = now + this.options.runningAfterMs;
    const rec: JobRecord = {
      id: randomUUID().toUpperCase(),
      seq: this.seq++,
      state: 'CREATED',
      token,
      request: structuredClone(request),
      source: { ...source },
      accountId,
      createdAt: now,
      runningAt,
      finishAt: Math.max(runningAt, now + this.options.copyDurationMs),
      outcome: this.takeOutcome(request),
      children: source.IsParent
        ? this.nestedRecoveryPoints(source).map((child) => ({
            id: randomUUID().toUpperCase(),
            source: child,
          }))
        : [],
      overflow,
    };
    this.jobs.set(rec.id, rec);
    this.activeJobs.add(rec);
    this.advanceAt(rec.runningAt);
    if (rec.finishAt > rec.runningAt) this.advanceAt(rec.finishAt);
    if (token !== undefined) this.tokens.set(token, { jobId: rec.id, fingerprint, at: now });
    this.emit(rec, now);
    return { CopyJobId: rec.id, CreationDate: new Date(now), IsParent: source.IsParent };
  }

  /**
   * Refuses what AWS Backup cannot copy for the source's resource type (the capability table in
   * lib/domain/resource-types.ts, shared with the policy's rules). AWS documents no error code for these;
   * InvalidRequestException is its answer for a request it cannot carry out as asked.
   */
  private refuseForResourceType(source: RecoveryPoint, destinationVaultArn: string): void {
    if (destinationVaultArn === source.BackupVaultArn) {
      throw new ApiError('InvalidRequestException', 'Source and destination backup vaults must differ');
    }
    const point = {
      resourceType: source.ResourceType,
      resourceArn: source.ResourceArn,
      recoveryPointArn: source.RecoveryPointArn,
    };
    if (isMultiAzDbCluster(point)) {
      throw new ApiError(
        'InvalidRequestException',
        'Copying a Multi-AZ DB cluster snapshot is not supported',
      );
    }
    const [, , , fromRegion, fromAccount] = source.BackupVaultArn.split(':');
    const [, , , toRegion, toAccount] = destinationVaultArn.split(':');
    const refusal = copyDirectionRefusal({
      ...point,
      crossRegion: toRegion !== fromRegion,
      crossAccount: toAccount !== fromAccount,
    });
    if (refusal) throw new ApiError('InvalidRequestException', `Destination backup vault ${refusal}`);
  }

  /**
   * AWS Backup's concurrent copy quotas: one backup or copy job per resource; for fully managed resource types,
   * perRegion per (account, destination Region), then perVaultOverflow more per destination vault. Returns
   * whether the job takes an overflow place.
   */
  private checkQuotas(source: RecoveryPoint, destinationVaultArn: string, accountId: string): boolean {
    const quotas = this.options.copyQuotas;
    const active = [...this.activeJobs];
    if (active.filter((j) => j.source.ResourceArn === source.ResourceArn).length >= quotas.perResource) {
      throw new ApiError(
        'LimitExceededException',
        `Resource ${source.ResourceArn} already has a backup or copy job in progress (limit ${quotas.perResource})`,
      );
    }
    if (!isFullyManaged(source.ResourceType, source.RecoveryPointArn)) return false;
    const region = destinationVaultArn.split(':')[3];
    const inRegion = active.filter(
      (j) =>
        j.accountId === accountId &&
        isFullyManaged(j.source.ResourceType, j.source.RecoveryPointArn) &&
        (j.request.DestinationBackupVaultArn ?? '').split(':')[3] === region,
    );
    if (inRegion.filter((j) => !j.overflow).length < quotas.perRegion) return false;
    const inVault = inRegion.filter(
      (j) => j.overflow && j.request.DestinationBackupVaultArn === destinationVaultArn,
    );
    if (inVault.length < quotas.perVaultOverflow) return true;
    throw new ApiError(
      'LimitExceededException',
      `Account ${accountId} already has ${inRegion.length} copy jobs in progress to ${region} (limit ` +
        `${quotas.perRegion}, and ${quotas.perVaultOverflow} more per destination vault)`,
    );
  }

  private validateLifecycle(lifecycle: Lifecycle | undefined, resourceType: string): void {
    if (!lifecycle) return;
    const cold = lifecycle.MoveToColdStorageAfterDays;
    const del = lifecycle.DeleteAfterDays;
    for (const [name, days] of [
      ['MoveToColdStorageAfterDays', cold],
      ['DeleteAfterDays', del],
    ] as const) {
      if (days !== undefined && (!Number.isInteger(days) || days < -1 || days === 0 || days > 36_500)) {
        throw new ApiError(
          'InvalidParameterValueException',
          `Lifecycle.${name} must be -1 or 1..36500, got ${days}`,
        );
      }
    }
    // AWS documents -1 ("keep indefinitely") only as a pair.
    if ((cold === -1) !== (del === -1)) {
      throw new ApiError(
        'InvalidParameterValueException',
        'Lifecycle: -1 must be set on both MoveToColdStorageAfterDays and DeleteAfterDays, or on neither',
      );
    }
    // AWS ignores the cold setting for resource types without cold storage; on EBS it is the archive tier,
    // used only on opt-in. The same table as the policy's rules (lib/domain/resource-types.ts).
    const appliesCold =
      supportsColdStorage(resourceType) ||
      (supportsArchiveTier(resourceType) && lifecycle.OptInToArchiveForSupportedResources === true);
    if (appliesCold && cold !== undefined && cold > 0 && del !== undefined && del < cold + 90) {
      throw new ApiError(
        'InvalidParameterValueException',
        `Lifecycle.DeleteAfterDays (${del}) must be at least 90 days greater than MoveToColdStorageAfterDays (${cold})`,
      );
    }
  }

  private takeOutcome(request: StartCopyJobInput): JobRecord['outcome'] {
    const rule = this.failRules.find(
      (r) =>
        r.remaining > 0 &&
        matches(r.matcher.recoveryPointArn, request.RecoveryPointArn) &&
        matches(r.matcher.destinationBackupVaultArn, request.DestinationBackupVaultArn),
    );
    if (!rule) return { state: 'COMPLETED' };
    rule.remaining--;
    return {
      state: rule.outcome.state,
      message: rule.outcome.message ?? `Copy job ${rule.outcome.state}`,
      messageCategory: rule.outcome.messageCategory,
    };
  }

  // ---- copy job lifecycle ----

  private transition(rec: JobRecord, state: EmulatedCopyJobState, at: number): void {
    rec.state = state;
    if (state !== 'CREATED' && state !== 'RUNNING') this.activeJobs.delete(rec);
    this.emit(rec, at);
  }

  private finish(rec: JobRecord, at: number): void {
    rec.completedAt = at;
    if (rec.outcome.state === 'COMPLETED' || rec.outcome.state === 'PARTIAL') {
      const [, , , region, account] = (rec.request.DestinationBackupVaultArn ?? '').split(':');
      const copyArn = () =>
        `arn:aws:backup:${region || this.options.region}:${account || rec.accountId}:recovery-point:${randomUUID()}`;
      rec.destinationRecoveryPointArn = copyArn();
      for (const child of rec.children) {
        if (childState(rec, child) === 'COMPLETED') child.destinationRecoveryPointArn = copyArn();
      }
    }
    this.transition(rec, rec.outcome.state, at);
  }

  /** DescribeCopyJob's CopyJob: every member that applies to an on-demand copy (see the conformance test). */
  private view(rec: JobRecord): CopyJob {
    const rp = rec.source;
    const finished = rec.completedAt !== undefined;
    const destination = rec.request.DestinationBackupVaultArn ?? '';
    return {
      AccountId: rec.accountId,
      CopyJobId: rec.id,
      SourceBackupVaultArn: rp.BackupVaultArn,
      SourceRecoveryPointArn: rp.RecoveryPointArn,
      DestinationBackupVaultArn: destination,
      DestinationVaultType: 'BACKUP_VAULT',
      DestinationRecoveryPointArn: rec.destinationRecoveryPointArn,
      DestinationEncryptionKeyArn: kmsKeyArn(destination),
      // Without a Lifecycle, AWS gives the copy the source recovery point's lifecycle (its input members).
      DestinationRecoveryPointLifecycle: rec.request.Lifecycle ?? inputLifecycle(rp.Lifecycle),
      ResourceArn: rp.ResourceArn,
      ResourceType: rp.ResourceType,
      ResourceName: rp.ResourceName,
      CreationDate: new Date(rec.createdAt),
      CompletionDate: finished ? new Date(rec.completedAt as number) : undefined,
      State: rec.state,
      StatusMessage: finished && rec.outcome.state !== 'COMPLETED' ? rec.outcome.message : undefined,
      MessageCategory: finished ? messageCategory(rec.state, rec.outcome.messageCategory) : undefined,
      BackupSizeInBytes: rp.BackupSizeInBytes,
      IamRoleArn: rec.request.IamRoleArn,
      CreatedBy: rp.CreatedBy,
      IsParent: rp.IsParent,
      CompositeMemberIdentifier: rp.CompositeMemberIdentifier,
      ...(rp.IsParent
        ? {
            NumberOfChildJobs: rec.children.length,
            ChildJobsInState: countStates(rec.children.map((child) => childState(rec, child))),
          }
        : {}),
    };
  }

  /** A nested copy job: its own source, its parent's destination, role and timing. */
  private childView(rec: JobRecord, child: ChildJob): CopyJob {
    const parent = this.view(rec);
    const rp = child.source;
    const state = childState(rec, child);
    const failed = state === 'FAILED';
    return {
      ...parent,
      CopyJobId: child.id,
      ParentJobId: rec.id,
      SourceRecoveryPointArn: rp.RecoveryPointArn,
      DestinationRecoveryPointArn: child.destinationRecoveryPointArn,
      DestinationRecoveryPointLifecycle: rec.request.Lifecycle ?? inputLifecycle(rp.Lifecycle),
      ResourceArn: rp.ResourceArn,
      ResourceType: rp.ResourceType,
      ResourceName: rp.ResourceName,
      State: state,
      StatusMessage: failed ? rec.outcome.message : undefined,
      MessageCategory: parent.CompletionDate
        ? messageCategory(state, rec.outcome.messageCategory)
        : undefined,
      BackupSizeInBytes: rp.BackupSizeInBytes,
      CreatedBy: rp.CreatedBy,
      IsParent: false,
      CompositeMemberIdentifier: rp.CompositeMemberIdentifier,
      NumberOfChildJobs: undefined,
      ChildJobsInState: undefined,
    };
  }

  /** Every copy job, nested ones after their parent. */
  private allViews(): Array<{ job: CopyJob; seq: number }> {
    return [...this.jobs.values()].flatMap((rec) => [
      { job: this.view(rec), seq: rec.seq },
      ...rec.children.map((child, i) => ({ job: this.childView(rec, child), seq: rec.seq + (i + 1) / 1000 })),
    ]);
  }

  private nestedRecoveryPoints(parent: RecoveryPoint): RecoveryPoint[] {
    return [...this.recoveryPoints.values()].filter(
      (rp) =>
        rp.ParentRecoveryPointArn === parent.RecoveryPointArn &&
        rp.BackupVaultName === parent.BackupVaultName,
    );
  }

  private emit(rec: JobRecord, at: number): void {
    if (this.options.dropCopyJobEvents) return;
    const job = this.view(rec);
    const iso = (d: Date | undefined) => d?.toISOString();
    // AWS's CREATED example carries only these fields; copyJobId is added so a consumer can correlate it.
    const minimal = {
      copyJobId: rec.id,
      state: rec.state,
      creationDate: new Date(rec.createdAt).toISOString(),
      sourceBackupVaultArn: rec.source.BackupVaultArn,
      destinationBackupVaultArn: rec.request.DestinationBackupVaultArn ?? '',
    };
    const detail: CopyJobStateChangeEvent['detail'] =
      rec.state === 'CREATED'
        ? minimal
        : {
            ...minimal,
            backupSizeInBytes: job.BackupSizeInBytes,
            iamRoleArn: job.IamRoleArn,
            resourceArn: job.ResourceArn,
            resourceType: job.ResourceType,
            statusMessage: job.StatusMessage,
            completionDate: iso(job.CompletionDate),
            destinationRecoveryPointArn: job.DestinationRecoveryPointArn ?? {},
            createdBy: eventCreator(job.CreatedBy),
          };
    const event: CopyJobStateChangeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Copy Job State Change',
      source: 'aws.backup',
      account: rec.accountId,
      time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region,
      resources: [rec.source.RecoveryPointArn],
      detail: dropUndefined(detail),
    };
    this.events.push(event);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A failing listener must not break the emulator's request handling.
      }
    }
  }

  // ---- reads ----

  private findRecoveryPoint(vault: string, arn: string): RecoveryPoint {
    if (!this.vaults.has(vault))
      throw new ApiError('ResourceNotFoundException', `Backup vault ${vault} does not exist`);
    const rp =
      this.recoveryPoints.get(rpKey(vault, arn)) ??
      (this.options.describeUnseededRecoveryPoints
        ? this.seedRecoveryPoint({ RecoveryPointArn: arn, BackupVaultName: vault })
        : undefined);
    if (!rp)
      throw new ApiError(
        'ResourceNotFoundException',
        `Recovery point ${arn} not found in backup vault ${vault}`,
      );
    return rp;
  }

  private listCopyJobs(query: URLSearchParams): object {
    const after = queryDate(query, 'createdAfter');
    const before = queryDate(query, 'createdBefore');
    const completeAfter = queryDate(query, 'completeAfter');
    const completeBefore = queryDate(query, 'completeBefore');
    const eq = (name: string, value: string | undefined) => !query.has(name) || query.get(name) === value;
    const time = (date: Date | undefined) => date?.getTime();
    const jobs = this.allViews()
      .filter(
        ({ job }) =>
          eq('state', job.State) &&
          eq('resourceArn', job.ResourceArn) &&
          eq('resourceType', job.ResourceType) &&
          eq('destinationVaultArn', job.DestinationBackupVaultArn) &&
          eq('accountId', job.AccountId) &&
          eq('sourceRecoveryPointArn', job.SourceRecoveryPointArn) &&
          eq('parentJobId', job.ParentJobId) &&
          eq('messageCategory', job.MessageCategory) &&
          (after === undefined || (time(job.CreationDate) ?? 0) > after) &&
          (before === undefined || (time(job.CreationDate) ?? 0) < before) &&
          (completeAfter === undefined || (time(job.CompletionDate) ?? -1) > completeAfter) &&
          (completeBefore === undefined || (time(job.CompletionDate) ?? Infinity) < completeBefore),
      )
      .sort((a, b) => (time(b.job.CreationDate) ?? 0) - (time(a.job.CreationDate) ?? 0) || b.seq - a.seq);
    const { items, next } = this.page(jobs, ({ job }) => job.CopyJobId ?? '', query);
    return { CopyJobs: items.map(({ job }) => job), NextToken: next };
  }

  private listRecoveryPoints(vault: string, query: URLSearchParams): object {
    if (!this.vaults.has(vault))
      throw new ApiError('ResourceNotFoundException', `Backup vault ${vault} does not exist`);
    const after = queryDate(query, 'createdAfter');
    const before = queryDate(query, 'createdBefore');
    const eq = (name: string, value: string | undefined) => !query.has(name) || query.get(name) === value;
    const points = [...this.recoveryPoints.values()]
      .filter(
        (rp) =>
          rp.BackupVaultName === vault &&
          eq('resourceType', rp.ResourceType) &&
          eq('resourceArn', rp.ResourceArn) &&
          eq('parentRecoveryPointArn', rp.ParentRecoveryPointArn) &&
          eq('backupPlanId', rp.CreatedBy?.BackupPlanId) &&
          (after === undefined || rp.CreationDate.getTime() > after) &&
          (before === undefined || rp.CreationDate.getTime() < before),
      )
      .sort((a, b) => b.CreationDate.getTime() - a.CreationDate.getTime());
    const { items, next } = this.page(points, (rp) => rp.RecoveryPointArn, query);
    // The list shape (RecoveryPointByBackupVault) has no StorageClass or ScanResults.
    const recoveryPoints = items.map(({ StorageClass: _s, ScanResults: _r, ...rest }) => rest);
    return { RecoveryPoints: recoveryPoints, NextToken: next };
  }

  /** Cursor paging: the token names the last item returned, so inserts between pages don't shift it. */
  private page<T>(
    all: T[],
    keyOf: (item: T) => string,
    query: URLSearchParams,
  ): { items: T[]; next?: string } {
    const max = query.has('maxResults') ? Number(query.get('maxResults')) : this.options.defaultPageSize;
    if (!Number.isInteger(max) || max < 1 || max > 1000) {
      throw new ApiError(
        'InvalidParameterValueException',
        `MaxResults must be between 1 and 1000, got ${max}`,
      );
    }
    let start = 0;
    const token = query.get('nextToken');
    if (token !== null) {
      const last = Buffer.from(token, 'base64url').toString();
      const index = all.findIndex((item) => keyOf(item) === last);
      if (index < 0) throw new ApiError('InvalidParameterValueException', `Invalid NextToken: ${token}`);
      start = index + 1;
    }
    const items = all.slice(start, start + max);
    const lastItem = items.at(-1);
    const more = start + max < all.length && lastItem !== undefined;
    return { items, next: more ? Buffer.from(keyOf(lastItem)).toString('base64url') : undefined };
  }
}

// ---- what AWS Backup reports per resource type ----

interface ResourceDefaults {
  resourceArn: (region: string, account: string) => string;
  resourceName: string;
  /** A logical ID, as CompositeMemberIdentifier carries it for a resource nested in a CloudFormation stack. */
  logicalId: string;
  sizeInBytes: number;
  /** A backup plan rule's lifecycle: cold storage where the type has it (lib/domain/resource-types.ts). */
  lifecycle: Lifecycle;
}

const GIB = 1_073_741_824;
const hex = (length: number) => randomUUID().replaceAll('-', '').slice(0, length);
const WARM_ONLY: Lifecycle = { DeleteAfterDays: 35 };
const WITH_COLD: Lifecycle = { MoveToColdStorageAfterDays: 30, DeleteAfterDays: 365 };
const lifecycleFor = (type: string) => (supportsColdStorage(type) ? WITH_COLD : WARM_ONLY);

/** Resource ARN shapes from the AWS Backup and service ARN references; names and sizes are examples. */
const RESOURCE_SHAPES: Record<string, Omit<ResourceDefaults, 'lifecycle'>> = {
  EBS: {
    resourceArn: (r, a) => `arn:aws:ec2:${r}:${a}:volume/vol-${hex(17)}`,
    resourceName: 'orders-data',
    logicalId: 'OrdersVolume',
    sizeInBytes: 8 * GIB,
  },
  EC2: {
    resourceArn: (r, a) => `arn:aws:ec2:${r}:${a}:instance/i-${hex(17)}`,
    resourceName: 'orders-web',
    logicalId: 'WebServer',
    sizeInBytes: 30 * GIB,
  },
  EFS: {
    resourceArn: (r, a) => `arn:aws:elasticfilesystem:${r}:${a}:file-system/fs-${hex(17)}`,
    resourceName: 'shared-files',
    logicalId: 'SharedFiles',
    sizeInBytes: 12 * GIB,
  },
  RDS: {
    resourceArn: (r, a) => `arn:aws:rds:${r}:${a}:db:orders-db`,
    resourceName: 'orders-db',
    logicalId: 'OrdersDatabase',
    sizeInBytes: 20 * GIB,
  },
  Aurora: {
    resourceArn: (r, a) => `arn:aws:rds:${r}:${a}:cluster:orders-cluster`,
    resourceName: 'orders-cluster',
    logicalId: 'OrdersCluster',
    sizeInBytes: 40 * GIB,
  },
  DocumentDB: {
    resourceArn: (r, a) => `arn:aws:rds:${r}:${a}:cluster:catalog-docdb`,
    resourceName: 'catalog-docdb',
    logicalId: 'CatalogCluster',
    sizeInBytes: 10 * GIB,
  },
  Neptune: {
    resourceArn: (r, a) => `arn:aws:rds:${r}:${a}:cluster:graph-neptune`,
    resourceName: 'graph-neptune',
    logicalId: 'GraphCluster',
    sizeInBytes: 10 * GIB,
  },
  DynamoDB: {
    resourceArn: (r, a) => `arn:aws:dynamodb:${r}:${a}:table/Orders`,
    resourceName: 'Orders',
    logicalId: 'OrdersTable',
    sizeInBytes: 2 * GIB,
  },
  FSx: {
    resourceArn: (r, a) => `arn:aws:fsx:${r}:${a}:file-system/fs-${hex(17)}`,
    resourceName: 'windows-share',
    logicalId: 'WindowsShare',
    sizeInBytes: 32 * GIB,
  },
  S3: {
    resourceArn: (_r, a) => `arn:aws:s3:::orders-archive-${a}`,
    resourceName: `orders-archive`,
    logicalId: 'ArchiveBucket',
    sizeInBytes: 5 * GIB,
  },
  CloudFormation: {
    resourceArn: (r, a) => `arn:aws:cloudformation:${r}:${a}:stack/orders-stack/${randomUUID()}`,
    resourceName: 'orders-stack',
    logicalId: 'OrdersStack',
    sizeInBytes: 0,
  },
  Redshift: {
    resourceArn: (r, a) => `arn:aws:redshift:${r}:${a}:cluster:analytics`,
    resourceName: 'analytics',
    logicalId: 'AnalyticsCluster',
    sizeInBytes: 160 * GIB,
  },
  'Storage Gateway': {
    resourceArn: (r, a) =>
      `arn:aws:storagegateway:${r}:${a}:gateway/sgw-${hex(8).toUpperCase()}/volume/vol-${hex(8).toUpperCase()}`,
    resourceName: 'office-volume',
    logicalId: 'OfficeVolume',
    sizeInBytes: 100 * GIB,
  },
  VirtualMachine: {
    resourceArn: (r, a) => `arn:aws:backup-gateway:${r}:${a}:vm/vm-${hex(17)}`,
    resourceName: 'erp-vm',
    logicalId: 'ErpVm',
    sizeInBytes: 60 * GIB,
  },
  Timestream: {
    resourceArn: (r, a) => `arn:aws:timestream:${r}:${a}:database/metrics/table/cpu`,
    resourceName: 'cpu',
    logicalId: 'CpuTable',
    sizeInBytes: GIB,
  },
  'SAP HANA on Amazon EC2': {
    resourceArn: (r, a) => `arn:aws:ssm-sap:${r}:${a}:HANA/erp/DB/ERP`,
    resourceName: 'ERP',
    logicalId: 'ErpDatabase',
    sizeInBytes: 256 * GIB,
  },
  EKS: {
    resourceArn: (r, a) => `arn:aws:eks:${r}:${a}:cluster/platform`,
    resourceName: 'platform',
    logicalId: 'PlatformCluster',
    sizeInBytes: 3 * GIB,
  },
};

/** An unknown resource type (a test's invention) is described like an EBS volume. */
function defaultsFor(resourceType: string): ResourceDefaults {
  const shape = RESOURCE_SHAPES[resourceType] ?? (RESOURCE_SHAPES.EBS as Omit<ResourceDefaults, 'lifecycle'>);
  return { ...shape, lifecycle: lifecycleFor(resourceType) };
}

/** How long before its recovery point's CreationDate a backup job is initiated. */
const BACKUP_START_MS = 5 * 60_000;

/** StatusMessage of statuses that need explaining (the API reference's descriptions of Status). */
const STATUS_MESSAGES: Partial<Record<string, string>> = {
  PARTIAL: 'One or more nested recovery points were not in the backup',
  EXPIRED: 'The recovery point exceeded its retention period, but AWS Backup could not delete it',
  STOPPED: 'The continuous backup was disabled',
};

/** The daily backup plan rule that made seeded recovery points (RecoveryPointCreator, every member). */
function backupPlan(region: string, account: string): RecoveryPointCreator {
  const id = uuidFrom(`plan:${account}:${region}`);
  return {
    BackupPlanId: id,
    BackupPlanArn: `arn:aws:backup:${region}:${account}:backup-plan:${id}`,
    BackupPlanName: 'daily',
    BackupPlanVersion: Buffer.from(uuidFrom(`version:${id}`)).toString('base64'),
    BackupRuleId: uuidFrom(`rule:${id}`),
    BackupRuleName: 'daily-0500',
    BackupRuleCron: 'cron(0 5 ? * * *)',
    BackupRuleTimezone: 'Etc/UTC',
  };
}

/** The KMS key a vault (or a destination vault) encrypts with: one stable key per vault ARN. */
function kmsKeyArn(vaultArn: string): string {
  const [, partition, , region, account] = vaultArn.split(':');
  return `arn:${partition}:kms:${region}:${account}:key/${uuidFrom(`key:${vaultArn}`)}`;
}

function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

// ---- helpers ----

type Route =
  | { operation: 'StartCopyJob' | 'ListCopyJobs' }
  | { operation: 'DescribeCopyJob'; id: string }
  | { operation: 'ListRecoveryPointsByBackupVault'; vault: string }
  | { operation: 'DescribeRecoveryPoint'; vault: string; arn: string };

/** Routes per the SDK's operation schemas; path labels are split before decoding (ARNs may contain %2F). */
function matchRoute(method: string, pathname: string): Route | undefined {
  let parts: string[];
  try {
    parts = pathname.replace(/\/$/, '').split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const [root, a, b, c, ...rest] = parts;
  if (rest.length > 0) return undefined;
  if (root === 'copy-jobs' && a === undefined) {
    if (method === 'PUT') return { operation: 'StartCopyJob' };
    if (method === 'GET') return { operation: 'ListCopyJobs' };
  }
  if (root === 'copy-jobs' && a !== undefined && b === undefined && method === 'GET') {
    return { operation: 'DescribeCopyJob', id: a };
  }
  if (root === 'backup-vaults' && a !== undefined && b === 'recovery-points' && method === 'GET') {
    return c === undefined
      ? { operation: 'ListRecoveryPointsByBackupVault', vault: a }
      : { operation: 'DescribeRecoveryPoint', vault: a, arn: c };
  }
  return undefined;
}

function parseBody(chunks: Buffer[]): Record<string, unknown> {
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const body: unknown = JSON.parse(text);
    if (body !== null && typeof body === 'object' && !Array.isArray(body))
      return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ApiError('SerializationException', 'Request body is not a JSON object');
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers });
  res.end(JSON.stringify(body));
}

function faultError(fault: FaultSpec): ApiError {
  return new ApiError(fault.error, fault.message ?? `Injected ${fault.error}`, faultStatus(fault));
}

/** restJson1 body encoding: timestamps as epoch seconds (ms in the fraction), undefined members omitted. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    );
  }
  return value;
}

function queryDate(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new ApiError('InvalidParameterValueException', `${name} is not a timestamp: ${text}`);
  return ms;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function calculatedLifecycle(
  created: Date,
  lifecycle: Lifecycle | undefined,
): RecoveryPoint['CalculatedLifecycle'] {
  const at = (days: number | undefined) =>
    days && days > 0 ? new Date(created.getTime() + days * DAY_MS) : undefined;
  const cold = at(lifecycle?.MoveToColdStorageAfterDays);
  const del = at(lifecycle?.DeleteAfterDays);
  return cold || del ? { MoveToColdStorageAt: cold, DeleteAt: del } : undefined;
}

/** The input members of a described lifecycle: DeleteAfterEvent belongs to the source, not its copies. */
function inputLifecycle(lifecycle: Lifecycle | undefined): Lifecycle | undefined {
  if (!lifecycle) return undefined;
  const { DeleteAfterEvent: _outputOnly, ...input } = lifecycle;
  return Object.keys(input).length > 0 ? input : undefined;
}

/** A nested job moves with its parent; a PARTIAL parent had its last nested copy fail. */
function childState(rec: JobRecord, child: ChildJob): CopyJobState {
  if (rec.state === 'COMPLETED') return 'COMPLETED';
  if (rec.state === 'PARTIAL') return child === rec.children.at(-1) ? 'FAILED' : 'COMPLETED';
  return rec.state;
}

function countStates(states: CopyJobState[]): Partial<Record<CopyJobState, number>> {
  const counts: Partial<Record<CopyJobState, number>> = {};
  for (const state of states) counts[state] = (counts[state] ?? 0) + 1;
  return counts;
}

/** SUCCESS for a completed job; a failure's category otherwise (the SDK's CopyJob.MessageCategory examples). */
function messageCategory(state: CopyJobState, failure: string | undefined): string {
  return state === 'COMPLETED' ? 'SUCCESS' : (failure ?? 'AccessDenied');
}

function eventCreator(
  creator: RecoveryPointCreator | undefined,
): CopyJobStateChangeEvent['detail']['createdBy'] {
  if (!creator) return undefined;
  return dropUndefined({
    backupPlanId: creator.BackupPlanId,
    backupPlanArn: creator.BackupPlanArn,
    backupPlanVersion: creator.BackupPlanVersion,
    backupPlanRuleId: creator.BackupRuleId,
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function matches(pattern: string | RegExp | undefined, value: string | undefined): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string' ? pattern === value : pattern.test(value ?? '');
}

function rpKey(vault: string, arn: string): string {
  return `${vault}\n${arn}`;
}
