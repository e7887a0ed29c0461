import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SKIPPED = new Set(['node_modules', 'test', '.git', '.esbuild', '.serverless', 'coverage']);
const SOURCE = /\.(ts|js|cjs|mjs)$/;
/** `from '…'`, `import('…')` and `require('…')` specifiers. */
const SPECIFIER = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"`]([^'"`]+)['"`]/g;

/** The relative specifiers in `source` (a file at `file`, relative to the root) that resolve into test/. */
function importsIntoTest(file: string, source: string): string[] {
  return [...source.matchAll(SPECIFIER)]
    .map((match) => match[1] as string)
    .filter((specifier) => specifier.startsWith('.'))
    .filter((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)).split('/')[0] === 'test');
}

function productFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return productFiles(path);
    return SOURCE.test(entry.name) ? [relative(ROOT, path)] : [];
  });
}

describe('repository layout', () => {
  it('finds an import of test code from product code', () => {
    expect(importsIntoTest('scripts/simulate.ts', "await import('../test/support/x.js')")).toEqual([
      '../test/support/x.js',
    ]);
    expect(importsIntoTest('local/a.ts', "import { b } from '../test/b.js';")).toEqual(['../test/b.js']);
    expect(importsIntoTest('scripts/bench/a.ts', "import x from '../../local/x.js';")).toEqual([]);
  });

  it('has no file outside test/ that imports from test/', () => {
    const files = productFiles();
    expect(files).toContain('local/local-service.ts');
    const leaks = files.flatMap((file) =>
      importsIntoTest(file, readFileSync(join(ROOT, file), 'utf8')).map(
        (specifier) => `${file}: ${specifier}`,
      ),
    );
    expect(leaks).toEqual([]);
  });
});
