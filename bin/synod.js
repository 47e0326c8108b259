#!/usr/bin/env node
// Entry point of the `synod` CLI. Runs the node's sources transpiled ahead of time
// (bin/build.js: rebuilt when a source changes; a validator carries 35-50 MB less RSS than under
// the tsx loader). Where the build cannot be written (a read-only install without one) or
// SYNOD_NO_BUILD=1 is set, it runs the TypeScript sources through tsx instead.
import { pathToFileURL } from 'node:url';
import { ensureNodeBuild } from './build.js';

let main;
if (process.env.SYNOD_NO_BUILD !== '1') {
  try {
    main = ensureNodeBuild();
  } catch (err) {
    const reason =
      String(err?.message ?? err)
        .split('\n')
        .find((line) => line.startsWith('error: ')) ?? String(err?.message ?? err).split('\n')[0];
    console.warn(`synod: running the sources through tsx (no transpiled build: ${reason})`);
  }
}
if (main !== undefined) {
  await import(pathToFileURL(main).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../node/cli/main.ts');
}
