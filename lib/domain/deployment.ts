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
 * it cannot be configured wrong (and its Region is the AWS_REGION Lambda sets). Throws ConfigurationError when
 * it is not a function ARN.
 */
export function deploymentOfFunction(invokedFunctionArn: string): Deployment {
  const arn = parseArn(invokedFunctionArn);
  if (arn?.service !== 'lambda' || arn.region === '' || arn.accountId === '') {
    throw new ConfigurationError(`invokedFunctionArn is not a Lambda function ARN: ${invokedFunctionArn}`);
  }
  return { partition: arn.partition, accountId: arn.accountId, region: arn.region };
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
