import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundProblems, NODE_BOUNDS } from '../../node/bounds.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../node/p2p/protocols.js';

describe('node bounds', () => {
  it('the shipped bounds keep their relations', () => {
    assert.deepEqual(boundProblems(), []);
  });

  it('a broken relation is named: a per-peer driver queue smaller than one consensus frame', () => {
    const broken = {
      ...NODE_BOUNDS,
      driverQueue: { ...NODE_BOUNDS.driverQueue, bytesPerPeerMax: DEFAULT_MAX_FRAME_BYTES.consensus - 1 },
    };
    assert.match(boundProblems(broken).join('; '), /bytesPerPeerMax .* must hold one consensus frame/);
  });

  it('per-client waiters above all waiters, and a backoff base above its max, are named', () => {
    const broken = {
      ...NODE_BOUNDS,
      txWaitersPerClientMax: NODE_BOUNDS.txWaitersMax + 1,
      syncBackoffBaseMs: 1e9,
    };
    const problems = boundProblems(broken);
    assert.equal(problems.length, 2, problems.join('; '));
  });
});
