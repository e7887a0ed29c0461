/**
 * Loads the product's Amazon States Language definition the way serverless-step-functions deploys it, so the
 * tests and the local simulator execute exactly the file that ships.
 *
 * The only substitution performed is `{ 'Fn::GetAtt': [<function>, 'Arn'] }` → the Lambda function ARN (the
 * form serverless-step-functions uses to reference a function of the same service). Any other intrinsic
 * (`Ref`, `Fn::Sub`, `Fn::Join`, ...) or serverless variable (`${self:...}`, `${sls:stage}`, ...) is rejected with
 * an error naming its location, so no workflow logic can hide in a deploy-time substitution.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { type CollectionTag, isSeq, parseDocument, type ScalarTag } from 'yaml';

export type { StateMachineDefinition };

export interface LoadDefinitionOptions {
  /** Region used in substituted Lambda ARNs. Default `us-east-1`. */
  region?: string;
  /** Account used in substituted Lambda ARNs. Default `123456789012`. */
  accountId?: string;
}

export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ACCOUNT_ID = '123456789012';

/** The CloudFormation short form `!GetAtt fn.Arn` / `!GetAtt [fn, Arn]`, mapped to its long form. */
const getAttScalarTag: ScalarTag = {
  tag: '!GetAtt',
  resolve: (value) => ({ 'Fn::GetAtt': value }),
};
const getAttSeqTag: CollectionTag = {
  tag: '!GetAtt',
  collection: 'seq',
  resolve: (value) => ({ 'Fn::GetAtt': isSeq(value) ? value.toJSON() : value }),
};

const LAMBDA_FUNCTION_NAME = /^[a-zA-Z0-9-_]{1,64}$/;
const SERVERLESS_VARIABLE = /\$\{(?:self|sls|env|opt|aws|file|ssm|cf|s3|param|strToBool|git)\b[:(]/;

/**
 * Reads an ASL document (YAML or JSON, chosen by extension; YAML otherwise) and resolves the Lambda references.
 * Throws an `Error` naming the file and the JSON pointer of anything it refuses.
 */
export function loadDefinition(path: string, options: LoadDefinitionOptions = {}): StateMachineDefinition {
  const text = readFileSync(path, 'utf8');
  let document: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new Error(`${path}: invalid JSON: ${(error as Error).message}`);
    }
  } else {
    const parsed = parseDocument(text, { customTags: [getAttScalarTag, getAttSeqTag], prettyErrors: true });
    const problems = [...parsed.errors, ...parsed.warnings];
    if (problems.length > 0) {
      throw new Error(
        `${path}: invalid YAML (only the !GetAtt short form is understood):\n${problems.map((p) => p.message).join('\n')}`,
      );
    }
    document = parsed.toJS({ maxAliasCount: 100 });
  }
  return resolveDefinition(document, { ...options, source: path });
}

/**
 * Same as {@link loadDefinition} for an already-parsed document (useful for inline fixtures). Returns a deep
 * copy; the argument is not modified.
 */
export function resolveDefinition(
  document: unknown,
  options: LoadDefinitionOptions & { source?: string } = {},
): StateMachineDefinition {
  const source = options.source ?? 'definition';
  const region = options.region ?? DEFAULT_REGION;
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  if (!isPlainObject(document) || typeof document.StartAt !== 'string' || !isPlainObject(document.States)) {
    throw new Error(
      `${source}: not an Amazon States Language document (expected top-level StartAt and States)`,
    );
  }
  const resolved = substitute(document, '', { source, region, accountId });
  return resolved as unknown as StateMachineDefinition;
}

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`, `<account>:function:<name>`, `<name>[:<qualifier>]` → `<name>`. */
export function functionNameFromArn(arnOrName: string): string {
  const parts = arnOrName.split(':');
  let name: string | undefined;
  if (arnOrName.startsWith('arn:')) {
    // arn : partition : lambda : region : account : function : name [: qualifier]
    if (parts.length < 7 || parts.length > 8 || parts[2] !== 'lambda' || parts[5] !== 'function') {
      throw new Error(`Not a Lambda function ARN: ${arnOrName}`);
    }
    name = parts[6];
  } else if (parts.length >= 3 && parts[1] === 'function') {
    name = parts[2];
  } else {
    name = parts[0];
  }
  if (name === undefined || !LAMBDA_FUNCTION_NAME.test(name)) {
    throw new Error(`Not a Lambda function name or ARN: ${arnOrName}`);
  }
  return name;
}

export function lambdaFunctionArn(
  name: string,
  region = DEFAULT_REGION,
  accountId = DEFAULT_ACCOUNT_ID,
): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
}

interface SubstituteContext {
  source: string;
  region: string;
  accountId: string;
}

function substitute(value: unknown, pointer: string, ctx: SubstituteContext): unknown {
  if (Array.isArray(value)) {
    return value.map((item, index) => substitute(item, `${pointer}/${index}`, ctx));
  }
  if (typeof value === 'string') {
    if (SERVERLESS_VARIABLE.test(value)) {
      throw new Error(
        `${ctx.source}: serverless variable at ${pointer || '/'} (${value}) is not allowed in the definition`,
      );
    }
    return value;
  }
  if (!isPlainObject(value)) {
    return value;
  }
  const keys = Object.keys(value);
  const intrinsic = keys.find((key) => key === 'Ref' || key === 'Condition' || key.startsWith('Fn::'));
  if (intrinsic !== undefined) {
    if (intrinsic !== 'Fn::GetAtt' || keys.length !== 1) {
      throw new Error(
        `${ctx.source}: unsupported intrinsic ${intrinsic} at ${pointer || '/'}: only { 'Fn::GetAtt': [<function>, Arn] } is substituted`,
      );
    }
    return resolveGetAtt(value['Fn::GetAtt'], pointer, ctx);
  }
  const result: Record<string, unknown> = {};
  for (const key of keys) {
    result[key] = substitute(
      value[key],
      `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
      ctx,
    );
  }
  return result;
}

function resolveGetAtt(argument: unknown, pointer: string, ctx: SubstituteContext): string {
  let target: unknown;
  let attribute: unknown;
  if (typeof argument === 'string') {
    const dot = argument.indexOf('.');
    target = dot < 0 ? argument : argument.slice(0, dot);
    attribute = dot < 0 ? undefined : argument.slice(dot + 1);
  } else if (Array.isArray(argument) && argument.length === 2) {
    [target, attribute] = argument;
  }
  if (typeof target !== 'string' || attribute !== 'Arn' || !LAMBDA_FUNCTION_NAME.test(target)) {
    throw new Error(
      `${ctx.source}: unsupported Fn::GetAtt ${JSON.stringify(argument)} at ${pointer || '/'}: expected [<function>, Arn]`,
    );
  }
  return lambdaFunctionArn(target, ctx.region, ctx.accountId);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
