/**
 * AWS Backup's service model as @aws-sdk/client-backup ships it, for tests that hold the emulator and the code
 * to it. The SDK's Smithy schemas (exported `<Shape>$` values) give shapes, members and their types; the SDK
 * does not put enum values, documentation or per-operation errors into the schemas, so those come from the
 * SDK's own declarations (dist-types): the enum each member is typed with, and each command's `@throws` list.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as backup from '@aws-sdk/client-backup';
import { NormalizedSchema } from '@smithy/core/schema';
import type { StaticOperationSchema, StaticStructureSchema } from '@smithy/types';

const sdkRoot = dirname(createRequire(import.meta.url).resolve('@aws-sdk/client-backup/package.json'));
const declarations = (path: string) => readFileSync(join(sdkRoot, 'dist-types', path), 'utf8');
const MODELS = declarations('models/models_0.d.ts');

/** Exported schema and class values of the SDK, by name (`CopyJob$`, `ResourceNotFoundException`). */
const sdk = backup as unknown as Record<string, unknown>;

export type MemberKind =
  | 'string'
  | 'number'
  | 'boolean'
  | 'timestamp'
  | 'structure'
  | 'list'
  | 'map'
  | 'other';

export function kindOf(schema: NormalizedSchema): MemberKind {
  if (schema.isStructSchema()) return 'structure';
  if (schema.isListSchema()) return 'list';
  if (schema.isMapSchema()) return 'map';
  if (schema.isTimestampSchema()) return 'timestamp';
  if (schema.isBooleanSchema()) return 'boolean';
  if (schema.isNumericSchema()) return 'number';
  if (schema.isStringSchema()) return 'string';
  return 'other';
}

/** `name?: Type | undefined;` lines of `export interface <shape> {…}` in the SDK's declarations. */
function declaredMemberTypes(shape: string): Map<string, string> {
  const start = MODELS.indexOf(`export interface ${shape} {`);
  if (start < 0) return new Map();
  const body = MODELS.slice(start, MODELS.indexOf('\n}', start));
  return new Map(
    [...body.matchAll(/^ {4}(\w+)\?: (.+?) \| undefined;$/gm)].map((m) => [m[1], m[2]] as [string, string]),
  );
}

/** The values of the SDK enum named `type`, if it is one (`CopyJobState` → COMPLETED, CREATED, …). */
function enumValues(type: string | undefined): string[] | undefined {
  const value = type === undefined ? undefined : sdk[type];
  if (value === null || typeof value !== 'object') return undefined;
  const values = Object.values(value);
  return values.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
}

export interface Member {
  /** `Shape.Member`, e.g. `CopyJob.State`: one name for a member wherever its shape is used. */
  path: string;
  shape: string;
  name: string;
  kind: MemberKind;
  schema: NormalizedSchema;
  /** The SDK enum's values, for a string member typed with an enum (or a map keyed by one). */
  enumValues?: string[];
}

/** The members of a structure, with their kind and enum values. */
export function membersOf(structure: NormalizedSchema): Member[] {
  const shape = structure.getName() ?? '?';
  const types = declaredMemberTypes(shape);
  return [...structure.structIterator()].map(([name, schema]) => {
    const declared = types.get(name);
    const keyEnum = /Record<(\w+),/.exec(declared ?? '')?.[1];
    const values = enumValues(keyEnum ?? declared);
    return {
      path: `${shape}.${name}`,
      shape,
      name,
      kind: kindOf(schema),
      schema,
      ...(values ? { enumValues: values } : {}),
    };
  });
}

/** Every member of `structure` and of the structures it reaches through members, lists and maps. */
export function reachableMembers(structure: NormalizedSchema, seen = new Set<string>()): Member[] {
  const shape = structure.getName() ?? '?';
  if (seen.has(shape)) return [];
  seen.add(shape);
  return membersOf(structure).flatMap((member) => {
    const target = elementStructure(member.schema);
    return [member, ...(target ? reachableMembers(target, seen) : [])];
  });
}

function elementStructure(schema: NormalizedSchema): NormalizedSchema | undefined {
  if (schema.isStructSchema()) return schema;
  if (schema.isListSchema() || schema.isMapSchema()) return elementStructure(schema.getValueSchema());
  return undefined;
}

export function structure(name: string): NormalizedSchema {
  const schema = sdk[`${name}$`] as StaticStructureSchema | undefined;
  if (!schema) throw new Error(`@aws-sdk/client-backup exports no schema ${name}$`);
  return NormalizedSchema.of(schema);
}

/** An operation's output structure, from its operation schema `[9, namespace, name, traits, input, output]`. */
export function outputOf(operation: string): NormalizedSchema {
  const schema = sdk[`${operation}$`] as StaticOperationSchema | undefined;
  if (!schema) throw new Error(`@aws-sdk/client-backup exports no operation schema ${operation}$`);
  return NormalizedSchema.of(schema[5]);
}

export function inputOf(operation: string): NormalizedSchema {
  const schema = sdk[`${operation}$`] as StaticOperationSchema | undefined;
  if (!schema) throw new Error(`@aws-sdk/client-backup exports no operation schema ${operation}$`);
  return NormalizedSchema.of(schema[4]);
}

/** The errors an operation is modelled to throw: its command's `@throws` list, without the base class. */
export function modelledErrors(operation: string): string[] {
  const text = declarations(`commands/${operation}Command.d.ts`);
  return [...text.matchAll(/@throws \{@link (\w+)\}/g)]
    .map((m) => m[1] as string)
    .filter((name) => name !== 'BackupServiceException');
}

export interface ModelledError {
  name: string;
  /** The SDK's exception class, which deserialization must produce. */
  errorClass: new (
    ...args: never[]
  ) => Error;
  fault: 'client' | 'server';
  /** The HTTP status the model gives it (httpError trait), else 400 for client and 500 for server faults. */
  status: number;
  /** The members of the error structure: what an error body carries. */
  members: string[];
}

export function modelledError(name: string): ModelledError {
  const schema = NormalizedSchema.of(sdk[`${name}$`] as StaticStructureSchema);
  const traits = schema.getMergedTraits() as { error?: 'client' | 'server'; httpError?: number };
  const fault = traits.error ?? 'client';
  return {
    name,
    errorClass: sdk[name] as ModelledError['errorClass'],
    fault,
    status: traits.httpError ?? (fault === 'server' ? 500 : 400),
    members: [...schema.structIterator()].map(([member]) => member),
  };
}

/** Documentation of `shape.member` in the SDK's declarations (the text before its declaration). */
export function documentationOf(shape: string, member: string): string {
  const start = MODELS.indexOf(`export interface ${shape} {`);
  const body = MODELS.slice(start, MODELS.indexOf('\n}', start));
  const at = body.search(new RegExp(`^ {4}${member}\\?:`, 'm'));
  const docStart = body.lastIndexOf('/**', at);
  return body.slice(docStart, at).replace(/\s*\*\s*/g, ' ');
}
