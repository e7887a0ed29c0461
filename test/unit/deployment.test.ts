import { describe, expect, it } from 'vitest';
import { deploymentOf, outsideDeployment } from '../../lib/domain/deployment.js';
import { ConfigurationError } from '../../lib/errors.js';

const HERE = { partition: 'aws', accountId: '111111111111', region: 'us-east-1' };

describe('deploymentOf', () => {
  it.each([
    ['a Lambda invocation', 'arn:aws:lambda:us-east-1:111111111111:function:planCopies', {}, HERE],
    [
      'a Lambda invocation in China, whatever the environment says',
      'arn:aws-cn:lambda:cn-north-1:111111111111:function:planCopies',
      { AWS_REGION: 'us-east-1', AWS_ACCOUNT_ID: '222222222222' },
      { partition: 'aws-cn', accountId: '111111111111', region: 'cn-north-1' },
    ],
    [
      'serverless invoke local (no invokedFunctionArn)',
      undefined,
      { AWS_REGION: 'us-gov-west-1', AWS_ACCOUNT_ID: '111111111111' },
      { partition: 'aws-us-gov', accountId: '111111111111', region: 'us-gov-west-1' },
    ],
  ])('reads %s', (_case, arn, env, expected) => {
    expect(deploymentOf(arn, env)).toEqual(expected);
  });

  it.each([
    ['a function ARN of no Lambda', 'arn:aws:states:us-east-1:111111111111:stateMachine:x', {}],
    ['no ARN and no account', undefined, { AWS_REGION: 'us-east-1' }],
    ['no ARN and a malformed account', undefined, { AWS_REGION: 'us-east-1', AWS_ACCOUNT_ID: '1111' }],
    ['no ARN and no Region', undefined, { AWS_ACCOUNT_ID: '111111111111' }],
  ])('refuses %s with a ConfigurationError', (_case, arn, env) => {
    expect(() => deploymentOf(arn, env)).toThrow(ConfigurationError);
  });
});

describe('outsideDeployment', () => {
  it.each([
    ['a recovery point here', 'arn:aws:backup:us-east-1:111111111111:recovery-point:x', []],
    ['an EBS snapshot here (no account in its ARN)', 'arn:aws:ec2:us-east-1::snapshot/snap-1', []],
    ['another account', 'arn:aws:backup:us-east-1:222222222222:recovery-point:x', ['account']],
    ['another Region', 'arn:aws:ec2:us-west-2::snapshot/snap-1', ['Region']],
    ['both', 'arn:aws:backup:eu-west-1:222222222222:recovery-point:x', ['account', 'Region']],
  ])('%s', (_case, arn, broken) => {
    const rules = outsideDeployment('recoveryPointArn', arn, HERE).map((v) => v.rule);
    expect(rules.map((rule) => (rule.includes(' account:') ? 'account' : 'Region'))).toEqual(broken);
    for (const rule of rules) expect(rule).toContain("this deployment's (111111111111, us-east-1)");
  });
});
