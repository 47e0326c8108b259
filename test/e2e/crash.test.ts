/**
 * Double-sign protection across a crash: a validator is made to exit right after its WAL holds
 * a vote and before the vote leaves the process (a test-only hook). Restarted, it must resume
 * from the WAL and never sign a conflicting vote: no node may record equivocation evidence,
 * and every node keeps the same chain.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startNodeProcess } from '../../node/devnet.js';
import { Cluster } from './cluster.js';

const cluster = new Cluster({ basePort: 32_600 });
const VICTIM = 1;

function setHook(kind: string | undefined, height: number): void {
  const path = join(cluster.node(VICTIM).home, 'config.json');
  const config = JSON.parse(readFileSync(path, 'utf8'));
  if (kind) config.testHooks = { crashAfterPersist: kind, crashAfterPersistHeight: height };
  else delete config.testHooks;
  writeFileSync(path, JSON.stringify(config, null, 2));
}

async function crashOnce(kind: string): Promise<void> {
  await cluster.stop(VICTIM);
  const h = await cluster.height(0);
  setHook(kind, h + 2);
  const child = startNodeProcess(cluster.node(VICTIM));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the ${kind} crash hook did not fire within 60 s`)),
      60_000,
    );
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 137, `the node exited through the ${kind} hook`);
  setHook(undefined, 0);
  await cluster.restart(VICTIM);
  const target = (await cluster.height(0)) + 3;
  await cluster.waitForHeight(VICTIM, target, 60_000);
  await cluster.waitForHeight(0, target, 60_000);
  await cluster.sameChain([0, 1, 2, 3], target);
}

describe('a validator killed between persisting a vote and sending it', { timeout: 300_000 }, () => {
  before(async () => {
    await cluster.start();
    await cluster.waitForHeight(0, 2, 30_000);
  });
  after(async () => {
    await cluster.close();
  });

  test('after a crash that swallowed a PREPARE it rejoins without equivocating', async () => {
    await crashOnce('PREPARE');
  });

  test('after a crash that swallowed a COMMIT it rejoins without equivocating', async () => {
    await crashOnce('COMMIT');
  });

  test('no node recorded equivocation evidence', () => {
    for (const n of cluster.nodes) {
      assert.equal(existsSync(join(n.home, 'data', 'evidence.jsonl')), false, `evidence on ${n.home}`);
    }
  });
});
