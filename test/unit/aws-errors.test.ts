import { LimitExceededException as BackupLimitExceededException } from '@aws-sdk/client-backup';
import {
  ConditionalCheckFailedException,
  LimitExceededException as DynamoDbLimitExceededException,
  ResourceNotFoundException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, TaskTimedOut } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { classifyAwsError } from '../../lib/aws/aws-errors.js';
import {
  LimitExceededException,
  ServiceUnavailableException,
  ThrottlingException,
} from '../../lib/errors.js';

const $metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const BACKUP = { quotaErrorNames: ['LimitExceededException'] };

describe('classifyAwsError', () => {
  it.each([
    [
      'ConditionalCheckFailedException',
      new ConditionalCheckFailedException({ message: 'no', ...$metadata(400) }),
    ],
    [
      'TransactionCanceledException',
      new TransactionCanceledException({ message: 'no', CancellationReasons: [], ...$metadata(400) }),
    ],
    ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'no', ...$metadata(400) })],
    ['ExecutionAlreadyExists', new ExecutionAlreadyExists({ message: 'no', ...$metadata(400) })],
    ['TaskTimedOut', new TaskTimedOut({ message: 'no', ...$metadata(400) })],
    ['a plain Error', new Error('a bug of ours')],
  ])('passes %s through as the very same object', (_, error) => {
    expect(classifyAwsError(error, 'X Y', BACKUP)).toBe(error);
  });

  it("raises AWS Backup's modelled LimitExceededException as our LimitExceededException, keeping the cause", () => {
    const error = new BackupLimitExceededException({ message: 'too many copy jobs', ...$metadata(400) });
    const raised = classifyAwsError(error, 'Backup StartCopyJob', BACKUP);
    expect(raised).toBeInstanceOf(LimitExceededException);
    expect((raised as Error).cause).toBe(error);
    expect((raised as Error).message).toBe(
      'Backup StartCopyJob answered LimitExceededException, HTTP 400: too many copy jobs',
    );
  });

  it("raises another service's LimitExceededException (a throttling code to the SDK) as ThrottlingException", () => {
    const error = new DynamoDbLimitExceededException({ message: 'slow down', ...$metadata(400) });
    expect(classifyAwsError(error, 'DynamoDB UpdateItem')).toBeInstanceOf(ThrottlingException);
  });

  it('raises any 429 as ThrottlingException, whatever its name', () => {
    const error = Object.assign(new Error('busy'), { name: 'SomethingNew', ...$metadata(429) });
    expect(classifyAwsError(error, 'SFN SendTaskSuccess')).toBeInstanceOf(ThrottlingException);
  });

  it.each([
    [
      'a 5xx the SDK calls transient',
      Object.assign(new Error('x'), { name: 'UnknownError', ...$metadata(502) }),
    ],
    ['any other 5xx', Object.assign(new Error('x'), { name: 'UnknownError', ...$metadata(507) })],
    ['a socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a DNS failure', Object.assign(new Error('getaddrinfo'), { code: 'EAI_AGAIN' })],
    ['a timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ])('raises %s as ServiceUnavailableException', (_, error) => {
    const raised = classifyAwsError(error, 'Backup DescribeRecoveryPoint', BACKUP);
    expect(raised).toBeInstanceOf(ServiceUnavailableException);
    expect((raised as Error).cause).toBe(error);
  });
});
