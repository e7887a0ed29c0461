import { ConfigurationError, type RuleViolation } from '../errors.js';
import { parseArn } from './arn.js';

/**
 * Where this deployment runs: its functions can call StartCopyJob only in their own account and Region, and a
 * copy role can be passed only in its own account, so every source must be here.
 */
export interface Deployment {
  partition: string;
  accountId: string;
  region: string;
}

/**
 * The deployment a Lambda invocation belongs to, from its context's invokedFunctionArn
 * (`arn:<partition>:lambda:<region>:<account>:function:<name>`): Lambda itself sets it on every invocation, so
 * it cannot be configured wrong (and its Region is the AWS_REGION Lambda sets). `serverless invoke local` gives
 * none: then AWS_REGION and AWS_ACCOUNT_ID (the SDK's own variable for the account) say where it runs.
 * Throws ConfigurationError when neither does.
 */
export function deploymentOf(
  invokedFunctionArn: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Deployment {
  if (invokedFunctionArn !== undefined) {
    const arn = parseArn(invokedFunctionArn);
    if (arn?.service !== 'lambda' || arn.region === '' || arn.accountId === '') {
      throw new ConfigurationError(`invokedFunctionArn is not a Lambda function ARN: ${invokedFunctionArn}`);
    }
    return { partition: arn.partition, accountId: arn.accountId, region: arn.region };
  }
  const { AWS_REGION: region, AWS_ACCOUNT_ID: accountId } = env;
  if (!region || !accountId || !/^\d{12}$/.test(accountId)) {
    throw new ConfigurationError(
      'no invokedFunctionArn in the Lambda context: AWS_REGION and AWS_ACCOUNT_ID (12 digits) must say where this runs',
    );
  }
  return { partition: partitionOf(region), accountId, region };
}

/** The partition a Region is in. */
function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  return region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** What keeps an ARN (its account and Region, where it names them) from being this deployment's. */
export function outsideDeployment(field: string, value: string, deployment: Deployment): RuleViolation[] {
  const arn = parseArn(value);
  if (!arn) return [];
  const here = `this deployment's (${deployment.accountId}, ${deployment.region})`;
  const violations: RuleViolation[] = [];
  if (arn.accountId !== '' && arn.accountId !== deployment.accountId) {
    violations.push({
      field,
      value,
      rule: `must be in ${here} account: the service calls StartCopyJob only in its own account`,
    });
  }
  if (arn.region !== '' && arn.region !== deployment.region) {
    violations.push({
      field,
      value,
      rule: `must be in ${here} Region: the service calls StartCopyJob only in its own Region`,
    });
  }
  return violations;
}
