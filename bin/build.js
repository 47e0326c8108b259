/**
 * The JavaScript a node runs: its TypeScript sources transpiled ahead of time by esbuild (the
 * compiler tsx itself uses), for the `synod` command (bin/synod.js) and for the validators the
 * devnet launcher starts (`npm start`, the benchmark, the multi-process tests). Plain
 * JavaScript so that bin/synod.js can use it before anything can load TypeScript.
 *
 * Why: tsx compiles in a module-hooks thread with its own V8 isolate, which lives as long as
 * the process. An idle validator measured 117-171 MB RSS under tsx and 88-111 MB running the
 * same sources transpiled here; under load 35-50 MB less (docs/benchmarks.md, "Memory").
 *
 * One file in, one file out, no bundling: every module keeps its relative path, so its
 * `import.meta.url` lookups (../package.json, ../explorer/) resolve as in the sources, through
 * links, and packages resolve from the repository's node_modules. Output goes to
 * `<repo>/.build/<hash>/`, the hash covering every source's path and bytes and the compiler's
 * version: an edited source gives a new folder, never a stale one. Launchers that build at the
 * same moment each write a private folder and rename it into place; the later one finds the
 * folder there and discards its copy.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, version as esbuildVersion } from 'esbuild';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** The folders a validator's code comes from (node/cli/main.ts and what it imports). */
const SOURCE_DIRS = ['node', 'crypto', 'ledger', 'consensus', 'rpc', 'genesis'];
/** What the sources read or import at run time relative to themselves. */
const LINKED = ['package.json', 'explorer', 'bin'];
/** Builds other than the current one are removed once unused for this long. */
const STALE_MS = 24 * 3600 * 1000;

/** @returns {string[]} */
function sources() {
  /** @type {string[]} */
  const files = [];
  for (const dir of SOURCE_DIRS) {
    for (const entry of readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })) {
      if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) files.push(join(dir, entry));
    }
  }
  return files.sort();
}

/**
 * Transpiles the node's sources unless an identical build exists; returns the path of the
 * entry point (`<build>/node/cli/main.js`) to run with plain `node`.
 * @param {string} [root] where builds go (default `<repo>/.build`)
 * @returns {string}
 */
export function ensureNodeBuild(root = join(REPO, '.build')) {
  const files = sources();
  const hash = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  for (const file of files) hash.update(`${file}\n`).update(readFileSync(join(REPO, file)));
  const id = hash.digest('hex').slice(0, 16);
  const dir = join(root, id);
  const main = join(dir, 'node', 'cli', 'main.js');
  if (!existsSync(main)) {
    const scratch = join(root, `${id}.tmp-${process.pid}`);
    rmSync(scratch, { recursive: true, force: true });
    const result = buildSync({
      entryPoints: files.map((f) => join(REPO, f)),
      outdir: scratch,
      outbase: REPO,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'silent',
    });
    if (result.errors.length > 0) {
      rmSync(scratch, { recursive: true, force: true });
      throw new Error(`transpiling the node failed: ${result.errors[0]?.text}`);
    }
    for (const name of LINKED) symlinkSync(relative(scratch, join(REPO, name)), join(scratch, name));
    try {
      renameSync(scratch, dir);
    } catch (err) {
      // Another launcher put the same build in place first: use it.
      rmSync(scratch, { recursive: true, force: true });
      if (!existsSync(main)) throw err;
    }
  }
  // A build in use stays recent: only builds nobody launched for a day are pruned. Best effort:
  // a build made by another user (a container image's, made as root) cannot be touched.
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {}
  pruneOldBuilds(root, id);
  return main;
}

/**
 * @param {string} root
 * @param {string} keep
 */
function pruneOldBuilds(root, keep) {
  const now = Date.now();
  let names;
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === keep) continue;
    const path = join(root, name);
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another launcher meanwhile.
    }
  }
}
