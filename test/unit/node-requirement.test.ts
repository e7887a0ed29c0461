/**
 * The README and `engines` promise Node.js ≥ 20.19 (Lambda runs nodejs22.x). aws-local-stepfunctions, the one
 * dependency that declares Node ≥ 22, does so for `Promise.withResolvers` alone, which local/step-functions.ts
 * polyfills; these tests fail when a dependency update makes that promise untrue.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import '../../local/step-functions.js';

const require = createRequire(import.meta.url);
const ROOT = new URL('../../', import.meta.url);
const manifest = (path: string) => JSON.parse(readFileSync(new URL(path, ROOT), 'utf8'));
const ours = manifest('package.json') as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Dependencies that declare a newer Node.js than ours, with what they need from it, polyfilled here. */
const NEWER_NODE_DEPENDENCIES: Record<string, string[]> = { 'aws-local-stepfunctions': ['withResolvers'] };

/** APIs Node.js 22 added to Node 20's JavaScript (ES2024 and the Set methods). */
const NODE_22_APIS = [
  'withResolvers',
  'Object.groupBy',
  'Map.groupBy',
  'Array.fromAsync',
  '.isSubsetOf(',
  '.isSupersetOf(',
  '.isDisjointFrom(',
  '.symmetricDifference(',
  '.isWellFormed(',
  '.toWellFormed(',
];

describe('the declared Node.js requirement', () => {
  const minimum = semver.minVersion(ours.engines.node)?.version ?? '';
  const dependencies = Object.keys({ ...ours.dependencies, ...ours.devDependencies });

  it('is met by every dependency but those that only need what is polyfilled', () => {
    const newer = dependencies.filter((name) => {
      const node = (manifest(`node_modules/${name}/package.json`) as { engines?: { node?: string } }).engines
        ?.node;
      return node !== undefined && !semver.satisfies(minimum, node);
    });
    expect(newer.sort()).toEqual(Object.keys(NEWER_NODE_DEPENDENCIES).sort());
  });

  it('is what aws-local-stepfunctions needs, given the polyfill', () => {
    const source = readFileSync(require.resolve('aws-local-stepfunctions'), 'utf8');
    const used = NODE_22_APIS.filter((api) => source.includes(api));
    expect(used).toEqual(NEWER_NODE_DEPENDENCIES['aws-local-stepfunctions']);
    expect(typeof (Promise as { withResolvers?: unknown }).withResolvers).toBe('function');
  });
});
