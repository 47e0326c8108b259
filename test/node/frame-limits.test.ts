/**
 * What a node must send fits what its peers accept, by construction (issue 23, finding 1): a
 * Byzantine proposer could pad a block so that its PROPOSAL fitted the 4 MiB consensus frame while
 * the DECIDED every honest validator then broadcast (the block plus a certificate) did not, and
 * the driver died on FrameTooLargeError. Checked here for the largest block the chain parameters
 * allow and the largest certificate and justifications the core accepts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommitCertificate } from '../../consensus/certificate.js';
import { DEFAULT_LIMITS } from '../../consensus/limits.js';
import { encodeMessage } from '../../consensus/messages.js';
import {
  type RoundChangePayload,
  type SignedItem,
  signPayload,
  type VotePayload,
} from '../../consensus/payload.js';
import { PARAM_BOUNDS } from '../../ledger/params.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../node/p2p/protocols.js';

const CHAIN_ID = 'c'.repeat(DEFAULT_LIMITS.chainIdBytesMax);
const N = DEFAULT_LIMITS.validatorsMax;
const sign = () => new Uint8Array(64).fill(0xee);
const author = (i: number) => new Uint8Array(20).fill(i % 256);
const digest = new Uint8Array(32).fill(0xdd);
/** The largest round a payload carries: integers cost more bytes the larger they are. */
const ROUND = Number.MAX_SAFE_INTEGER;
const HEIGHT = Number.MAX_SAFE_INTEGER;

function vote(type: 'PROPOSAL' | 'PREPARE' | 'COMMIT', i: number): SignedItem<VotePayload> {
  return signPayload<VotePayload>(
    { type, chainId: CHAIN_ID, height: HEIGHT, round: ROUND, author: author(i), digest },
    sign,
  );
}

function roundChange(i: number): SignedItem<RoundChangePayload> {
  return signPayload<RoundChangePayload>(
    {
      type: 'ROUND-CHANGE',
      chainId: CHAIN_ID,
      height: HEIGHT,
      round: ROUND,
      author: author(i),
      prepared: { round: ROUND, digest },
    },
    sign,
  );
}

/** The largest block the chain parameters allow (its contents do not matter to the frame). */
const blockBytesMax = PARAM_BOUNDS.blockBytesMax[1];
const maxBlock = new Uint8Array(blockBytesMax).fill(0xab);
const fullCert: CommitCertificate = {
  round: ROUND,
  sigs: Array.from({ length: N }, (_, i) => ({ author: author(i), signature: sign() })),
};
const frameMax = DEFAULT_MAX_FRAME_BYTES.consensus;

describe('consensus frames fit the frame limit by construction', () => {
  it('the chain’s largest block is no larger than the core accepts', () => {
    assert.ok(
      blockBytesMax <= DEFAULT_LIMITS.blockBytesMax,
      `${blockBytesMax} > ${DEFAULT_LIMITS.blockBytesMax}`,
    );
  });

  it('the p2p layer accepts every frame the core accepts', () => {
    assert.ok(frameMax >= DEFAULT_LIMITS.messageBytesMax, `${frameMax} < ${DEFAULT_LIMITS.messageBytesMax}`);
    assert.ok(DEFAULT_MAX_FRAME_BYTES.sync >= frameMax, 'a sync reply carries a block and its certificate');
  });

  it('a DECIDED with the largest block and a full certificate fits', () => {
    const bytes = encodeMessage({ kind: 'DECIDED', block: undefined, blockBytes: maxBlock, cert: fullCert });
    assert.ok(bytes.length <= frameMax, `DECIDED of ${bytes.length} bytes > ${frameMax}`);
  });

  it('a ROUND-CHANGE with the largest prepared block and a full prepare certificate fits', () => {
    const bytes = encodeMessage({
      kind: 'ROUND-CHANGE',
      item: roundChange(0),
      preparedBlock: { block: undefined, bytes: maxBlock },
      prepareCert: Array.from({ length: N }, (_, i) => vote('PREPARE', i)),
    });
    assert.ok(bytes.length <= frameMax, `ROUND-CHANGE of ${bytes.length} bytes > ${frameMax}`);
  });

  it('a re-PROPOSAL with the largest block and full justifications fits', () => {
    const bytes = encodeMessage({
      kind: 'PROPOSAL',
      item: vote('PROPOSAL', 0),
      block: undefined,
      blockBytes: maxBlock,
      roundChanges: Array.from({ length: N }, (_, i) => roundChange(i)),
      prepares: Array.from({ length: N }, (_, i) => vote('PREPARE', i)),
    });
    assert.ok(bytes.length <= frameMax, `PROPOSAL of ${bytes.length} bytes > ${frameMax}`);
  });
});
