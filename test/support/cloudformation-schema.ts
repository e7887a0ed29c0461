/**
 * Checks a CloudFormation template against the resource schemas of @aws-cdk/aws-service-spec (the CDK's
 * database of every CloudFormation resource type, built from the CloudFormation registry schemas): each
 * resource's type exists, its required properties are present, it has no property the schema lacks, and each
 * value has the schema's type, as deep as the schema describes it. Where a value is expected, an intrinsic
 * function stands for it (both branches of an Fn::If are checked); Ref and Fn::GetAtt must name a parameter or
 * resource of the template, and Fn::GetAtt an attribute its type has.
 */
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import type { PropertyType, Resource, ResourceProperties, SpecDatabase } from '@aws-cdk/service-spec-types';
import type { Json } from '../../local/serverless-package.js';

export interface Finding {
  /** Where, as `Resources.<id>.Properties.<name>[index]…`. */
  path: string;
  message: string;
}

/** A resource's own keys besides Type and Properties (CloudFormation User Guide, "Resources" template section). */
const RESOURCE_ATTRIBUTES = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'UpdatePolicy',
  'CreationPolicy',
  'Metadata',
]);
const PSEUDO_PARAMETER =
  /^AWS::(AccountId|NotificationARNs|NoValue|Partition|Region|StackId|StackName|URLSuffix)$/;

let database: Promise<SpecDatabase> | undefined;
/** The spec database (db.json.gz, ~1.5 s to load), once per process. */
export const serviceSpec = (): Promise<SpecDatabase> => {
  database ??= loadAwsServiceSpec();
  return database;
};

const isPlainObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** `{ Ref: … }` or `{ 'Fn::…': … }`: CloudFormation computes the value. */
const intrinsic = (value: unknown): [string, unknown] | undefined => {
  if (!isPlainObject(value)) return undefined;
  const keys = Object.keys(value);
  const [name] = keys;
  return keys.length === 1 && name && (name === 'Ref' || name.startsWith('Fn::'))
    ? [name, value[name]]
    : undefined;
};
const describeType = (type: PropertyType): string =>
  type.type === 'array' || type.type === 'map'
    ? `${type.type} of ${describeType(type.element)}`
    : type.type === 'union'
      ? type.types.map(describeType).join(' | ')
      : type.type;

export async function validateTemplate(template: Json): Promise<Finding[]> {
  const db = await serviceSpec();
  const findings: Finding[] = [];
  const resources: Record<string, Json> = template.Resources ?? {};
  const parameters: Record<string, Json> = template.Parameters ?? {};
  const specOf = new Map<string, Resource | undefined>();
  const lookUp = (type: string) => {
    if (!specOf.has(type)) specOf.set(type, db.lookup('resource', 'cloudFormationType', 'equals', type)[0]);
    return specOf.get(type);
  };
  const report = (path: string, message: string): void => {
    findings.push({ path, message });
  };

  /** Checks an intrinsic's references, and each Fn::If branch with `checkBranch`; the value any other function
   *  computes is taken to fit where it stands. */
  function checkIntrinsic(
    name: string,
    argument: unknown,
    path: string,
    checkBranch: (branch: unknown, path: string) => void,
  ): void {
    if (name === 'Ref') {
      const target = String(argument);
      if (!(PSEUDO_PARAMETER.test(target) || target in resources || target in parameters)) {
        report(path, `Ref to ${target}, which is no parameter or resource of the template`);
      }
    } else if (name === 'Fn::GetAtt') {
      const [id, attribute] = (Array.isArray(argument) ? argument : String(argument).split('.')) as string[];
      const target = resources[id as string];
      const spec = target ? lookUp(target.Type) : undefined;
      if (!target) report(path, `Fn::GetAtt of ${id}, which is no resource of the template`);
      else if (spec && !(attribute && attribute in spec.attributes)) {
        report(path, `Fn::GetAtt ${id}.${attribute}: ${target.Type} has no attribute ${attribute}`);
      }
    } else if (name === 'Fn::If' && Array.isArray(argument)) {
      for (const [index, branch] of argument.slice(1).entries()) {
        if (intrinsic(branch)?.[0] === 'Ref' && (branch as Json).Ref === 'AWS::NoValue') continue;
        checkBranch(branch, `${path}.Fn::If[${index + 1}]`);
      }
    }
  }

  function checkProperties(value: unknown, spec: ResourceProperties, path: string): void {
    const [name, argument] = intrinsic(value) ?? [];
    if (name) {
      checkIntrinsic(name, argument, path, (branch, at) => checkProperties(branch, spec, at));
    } else if (!isPlainObject(value)) {
      report(path, `expected an object, got ${JSON.stringify(value)}`);
    } else {
      for (const [key, item] of Object.entries(value)) {
        const property = spec[key];
        if (!property) report(`${path}.${key}`, `unknown property ${key}`);
        else checkValue(item, property.type, `${path}.${key}`);
      }
      for (const [key, property] of Object.entries(spec)) {
        if (property.required && !(key in value)) report(path, `missing required property ${key}`);
      }
    }
  }

  /** Findings for `value` as `type`, without recording them (to try each member of a union). */
  function trial(value: unknown, type: PropertyType, path: string): Finding[] {
    const before = findings.length;
    checkValue(value, type, path);
    return findings.splice(before);
  }

  /** Whether a value has the type's JSON shape; CloudFormation passes numbers and booleans as strings too ("5", "true"). */
  function scalarFits(value: unknown, type: PropertyType): boolean {
    switch (type.type) {
      case 'string':
      case 'date-time':
        return typeof value === 'string';
      case 'number':
        return (
          typeof value === 'number' ||
          (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(+value))
        );
      case 'integer':
        return Number.isInteger(typeof value === 'string' && value.trim() !== '' ? +value : value);
      case 'boolean':
        return typeof value === 'boolean' || value === 'true' || value === 'false';
      case 'json':
        return isPlainObject(value) || Array.isArray(value);
      case 'null':
        return value === null;
      case 'array':
        return Array.isArray(value);
      case 'map':
        return isPlainObject(value);
      default:
        return true;
    }
  }

  function checkValue(value: unknown, type: PropertyType, path: string): void {
    const [name, argument] = intrinsic(value) ?? [];
    if (name) {
      checkIntrinsic(name, argument, path, (branch, at) => checkValue(branch, type, at));
    } else if (!scalarFits(value, type)) {
      report(path, `expected ${describeType(type)}, got ${JSON.stringify(value)}`);
    } else if (
      type.type === 'string' &&
      type.allowedValues &&
      !type.allowedValues.includes(value as string)
    ) {
      report(path, `${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}`);
    } else if (type.type === 'tag') {
      const text = { type: { type: 'string' as const }, required: true };
      checkProperties(value, { Key: text, Value: text }, path);
    } else if (type.type === 'ref') {
      checkProperties(value, db.get('typeDefinition', type.reference.$ref).properties, path);
    } else if (type.type === 'array') {
      for (const [index, item] of (value as unknown[]).entries())
        checkValue(item, type.element, `${path}[${index}]`);
    } else if (type.type === 'map') {
      for (const [key, item] of Object.entries(value as Json))
        checkValue(item, type.element, `${path}.${key}`);
    } else if (type.type === 'union') {
      const attempts = type.types.map((member) => trial(value, member, path));
      if (!attempts.some((attempt) => attempt.length === 0)) {
        // The closest member's findings: usually the one the author meant.
        findings.push(...attempts.reduce((best, attempt) => (attempt.length < best.length ? attempt : best)));
      }
    }
  }

  for (const [id, resource] of Object.entries(resources)) {
    const path = `Resources.${id}`;
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_ATTRIBUTES.has(key)) report(`${path}.${key}`, `unknown resource attribute ${key}`);
    }
    for (const dependency of [resource.DependsOn ?? []].flat() as string[]) {
      if (!(dependency in resources))
        report(`${path}.DependsOn`, `depends on ${dependency}, which is no resource`);
    }
    const spec = lookUp(resource.Type);
    if (!spec) {
      report(`${path}.Type`, `unknown resource type ${resource.Type}`);
      continue;
    }
    checkProperties(resource.Properties ?? {}, spec.properties, `${path}.Properties`);
  }
  return findings;
}
