/**
 * The layering of the tree, checked (issue 24): consensus/ and ledger/ stay pure and
 * deterministic, so they import neither the node's I/O (node/, rpc/, libp2p, level, the file
 * system, the network, timers) nor each other's callers; genesis/ may read the ledger's types and
 * rules, and the ledger never imports genesis/ (no cycle). Every import specifier of every source
 * file is read with the TypeScript scanner, so an `import()` or `export ... from` counts too.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Source files under a top-level folder (tests and builds excluded). */
function sources(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
    }
  };
  walk(join(ROOT, folder));
  return out;
}

/** Every module specifier a file names: static imports and exports, `import()` and `require`. */
export function specifiers(code: string): string[] {
  return ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
}

/** The top-level folder a relative specifier of `file` lands in, or the package it names. */
function target(file: string, spec: string): { folder?: string; pkg?: string } {
  if (spec.startsWith('.')) {
    const abs = resolve(dirname(file), spec);
    return { folder: relative(ROOT, abs).split(/[\\/]/)[0] };
  }
  return { pkg: spec };
}

interface Rule {
  folder: string;
  forbiddenFolders: string[];
  /** Packages by exact name or prefix (a trailing '/' or ':' matches any subpath). */
  forbiddenPackages: string[];
}

const IO_PACKAGES = [
  'libp2p',
  '@libp2p/',
  '@chainsafe/',
  'level',
  'classic-level',
  'pino',
  'json-rpc-2.0',
  'node:fs',
  'node:fs/',
  'fs',
  'node:net',
  'net',
  'node:timers',
  'node:timers/',
  'timers',
  'node:child_process',
  'node:http',
  'node:worker_threads',
];

const RULES: Rule[] = [
  {
    folder: 'consensus',
    forbiddenFolders: ['node', 'rpc', 'ledger', 'genesis', 'explorer'],
    forbiddenPackages: IO_PACKAGES,
  },
  {
    folder: 'ledger',
    forbiddenFolders: ['node', 'rpc', 'consensus', 'genesis', 'explorer'],
    forbiddenPackages: IO_PACKAGES,
  },
  {
    folder: 'crypto',
    forbiddenFolders: ['node', 'rpc', 'consensus', 'ledger', 'genesis', 'explorer'],
    forbiddenPackages: IO_PACKAGES,
  },
];

function matches(pkg: string, pattern: string): boolean {
  if (pattern.endsWith('/') || pattern.endsWith(':')) return pkg.startsWith(pattern);
  return pkg === pattern || pkg.startsWith(`${pattern}/`);
}

/** The imports of `folder` that break its rule, as "file: specifier" lines. */
export function violations(rule: Rule): string[] {
  const out: string[] = [];
  for (const file of sources(rule.folder)) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const t = target(file, spec);
      const bad =
        (t.folder !== undefined && rule.forbiddenFolders.includes(t.folder)) ||
        (t.pkg !== undefined && rule.forbiddenPackages.some((p) => matches(t.pkg!, p)));
      if (bad) out.push(`${relative(ROOT, file)}: ${spec}`);
    }
  }
  return out;
}

describe('layering', () => {
  for (const rule of RULES) {
    it(`${rule.folder}/ imports no I/O and no layer above it`, () => {
      assert.deepEqual(violations(rule), []);
    });
  }

  it('genesis/ and ledger/ do not import each other (ledger never imports genesis)', () => {
    const ledgerToGenesis = violations({
      folder: 'ledger',
      forbiddenFolders: ['genesis'],
      forbiddenPackages: [],
    });
    assert.deepEqual(ledgerToGenesis, []);
  });

  it('no barrel file is left unused: each index.ts that exists is imported', () => {
    const all = [
      'node',
      'rpc',
      'consensus',
      'ledger',
      'crypto',
      'genesis',
      'scripts',
      'test',
      'explorer',
    ].flatMap((f) => {
      try {
        return sources(f);
      } catch {
        return [];
      }
    });
    const barrels = all.filter((f) => f.endsWith('/index.ts'));
    const imported = new Set<string>();
    for (const file of all) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) imported.add(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
      }
    }
    const unused = barrels.filter((b) => !imported.has(b)).map((b) => relative(ROOT, b));
    assert.deepEqual(unused, []);
  });

  it('the checker sees what it must: a forbidden import in sample code is found', () => {
    const code = [
      "import { readFileSync } from 'node:fs';",
      "export { x } from '../node/chain.js';",
      "const m = await import('level');",
      "import type { T } from './types.js';",
    ].join('\n');
    assert.deepEqual(specifiers(code), ['node:fs', '../node/chain.js', 'level', './types.js']);
  });
});
