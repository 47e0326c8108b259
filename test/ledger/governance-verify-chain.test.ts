/**
 * Header-chain verification (rpc/verify-chain.ts) against a chain with every kind of set change
 * (member and validator added, validator rotated, validator removed, member removed), served by
 * an in-memory node that answers in the node's JSON: it follows the set from genesis, with the
 * sets from the node or derived from the blocks' transactions, and names the first header that
 * does not verify when the node lies.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commitPayload } from '../../consensus/certificate.js';
import { encodePayload } from '../../consensus/payload.js';
import { ValidatorSet } from '../../consensus/validators.js';
import type { Signer } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import { blockHash, txHash } from '../../ledger/codec.js';
import { getProposal, getValidators, type LedgerState } from '../../ledger/state.js';
import type {
  BlockHeader,
  CommitCertificate,
  GovAction,
  Receipt,
  SignedTransaction,
  Validator,
} from '../../ledger/types.js';
import { certJson, headerJson, proposalJson, receiptJson, txJson, validatorJson } from '../../node/json.js';
import type { JsonObject } from '../../rpc/backend.js';
import { type RpcCaller, verifyChain } from '../../rpc/verify-chain.js';
import { Chain, fixtureGenesis, key, wallet } from './helpers.js';

const FOUR = ['alpha', 'beta', 'gamma', 'delta'];

interface Stored {
  header: BlockHeader;
  txs: SignedTransaction[];
  receipts: Receipt[];
  cert: CommitCertificate | null;
  /** V(height). */
  set: Validator[];
  /** The state after the block. */
  state: LedgerState;
}

/** Signers by address hex, for every validator key the scenario uses. */
const signers = new Map<string, Signer>();
function signerFor(label: string): Signer {
  const s = key(label);
  signers.set(toHex(s.address), s);
  return s;
}

/** A commit certificate of the first q validators of `set` (sorted by address). */
function certify(chainId: string, header: BlockHeader, set: Validator[]): CommitCertificate {
  const vs = ValidatorSet.fromPublicKeys(set.map((v) => v.publicKey));
  const hash = blockHash(header);
  const sigs = vs.addresses.slice(0, vs.quorum).map((address) => {
    const s = signers.get(toHex(address));
    assert.ok(s, `no signer for ${toHex(address)}`);
    return {
      validator: address,
      signature: s.sign(encodePayload(commitPayload(chainId, header.height, 0, address, hash))),
    };
  });
  return { round: 0, sigs };
}

/** Builds the scenario chain: block by block, each certified by V(height). */
function buildChain(): Stored[] {
  for (const id of FOUR) signerFor(`${id}-val`);
  const c = new Chain(fixtureGenesis({ members: FOUR }));
  const blocks: Stored[] = [
    { header: c.header, txs: [], receipts: [], cert: null, set: getValidators(c.state), state: c.state },
  ];
  const produce = (txs: SignedTransaction[]) => {
    const set = getValidators(c.state);
    const b = c.produce(txs);
    blocks.push({
      header: b.block.header,
      txs: b.block.txs,
      receipts: b.receipts,
      cert: certify(c.header.chainId, b.block.header, set),
      set,
      state: c.state,
    });
  };
  const nonces = new Map<string, number>();
  const w = (label: string) => {
    const n = nonces.get(label) ?? 0;
    nonces.set(label, n + 1);
    return wallet(label, n);
  };
  let nextId = 1;
  const pass = (action: GovAction, voters: string[]) => {
    produce([w('alpha-admin').propose(action, 'change')]);
    produce(voters.map((v) => w(v).vote(nextId, true)));
    nextId++;
  };
  produce([]);
  pass({ type: 'member.add', memberId: 'epsilon', name: 'Epsilon', admin: key('epsilon-admin').publicKey }, [
    'beta-admin',
    'gamma-admin',
  ]);
  signerFor('epsilon-val');
  // 5 members now: 4 yes are needed.
  pass({ type: 'validator.add', publicKey: key('epsilon-val').publicKey, memberId: 'epsilon', p2p: [] }, [
    'beta-admin',
    'gamma-admin',
    'epsilon-admin',
  ]);
  produce([]);
  signerFor('beta-val-2');
  produce([w('beta-admin').rotateValidator(key('beta-val').address, key('beta-val-2').publicKey, [])]);
  pass({ type: 'validator.remove', address: key('gamma-val').address }, [
    'beta-admin',
    'gamma-admin',
    'epsilon-admin',
  ]);
  pass({ type: 'member.remove', memberId: 'delta' }, ['beta-admin', 'gamma-admin', 'epsilon-admin']);
  produce([]);
  produce([]);
  return blocks;
}

const BLOCKS = buildChain();

/** The set-change heights (first height of each new set) the scenario produced. */
const CHANGES = BLOCKS.filter(
  (b, h) => h > 0 && toHex(b.header.nextValidatorsHash) !== toHex(b.header.validatorsHash),
).map((b) => b.header.height + 1);

interface FakeOptions {
  /** gov_getValidators answers an error, as a node without that history would. */
  noSets?: boolean;
  /** Replace what the node serves for a height. */
  tamper?: (height: number, block: JsonObject) => JsonObject | null;
  /** A set the node serves instead of the right one for a height. */
  fakeSet?: (height: number) => Validator[] | undefined;
}

function fakeNode(blocks: Stored[], o: FakeOptions = {}): RpcCaller & { calls: string[] } {
  const calls: string[] = [];
  const tip = blocks.length - 1;
  const latest = blocks[tip]!.state;
  return {
    calls,
    async call(method: string, params: JsonObject = {}) {
      calls.push(method);
      switch (method) {
        case 'chain_getInfo':
          return {
            chainId: blocks[0]!.header.chainId,
            genesisHash: toHex(blockHash(blocks[0]!.header)),
            height: tip,
          };
        case 'chain_getBlock': {
          const h = Number(params.height);
          const b = blocks[h];
          if (!b) return null;
          const hashes = b.txs.map((t) => txHash(t));
          const json: JsonObject = {
            header: headerJson(b.header, blockHash(b.header)),
            txCount: b.txs.length,
            txs: params.full
              ? b.txs.map((t, i) => ({ ...txJson(t, hashes[i]!), receipt: receiptJson(b.receipts[i]!) }))
              : hashes.map(toHex),
            cert: certJson(b.cert),
          };
          return o.tamper ? o.tamper(h, json) : json;
        }
        case 'gov_getValidators': {
          if (o.noSets) throw new Error('UNAVAILABLE: the validator set of that height is not known');
          const h = Number(params.height);
          const set = o.fakeSet?.(h) ?? (h === 0 ? blocks[0]!.set : blocks[h]?.set);
          if (!set) return null;
          return { height: h, validators: set.map(validatorJson) };
        }
        case 'gov_getProposal': {
          const p = getProposal(latest, Number(params.id));
          return p ? proposalJson(p) : null;
        }
        default:
          throw new Error(`unexpected method ${method}`);
      }
    },
  };
}

/** A header JSON without its claimed hash, so only the certificate can catch a change. */
function withoutHash(h: JsonObject): JsonObject {
  const { hash: _, ...rest } = h;
  return rest;
}

describe('verifyChain', () => {
  test('follows the set from genesis through every kind of change, from the node', async () => {
    assert.equal(CHANGES.length, 4, 'validator.add, rotate, remove and member.remove each changed the set');
    const r = await verifyChain(fakeNode(BLOCKS), { concurrency: 3 });
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    assert.equal(r.verified, BLOCKS.length - 1);
    assert.deepEqual(
      r.setChanges.map((c) => [c.height, c.validators, c.quorum, c.source]),
      [
        [CHANGES[0], 5, 4, 'rpc'],
        [CHANGES[1], 5, 4, 'rpc'],
        [CHANGES[2], 4, 3, 'rpc'],
        [CHANGES[3], 3, 2, 'rpc'],
      ],
    );
    assert.equal(r.initialSet.validators, 4);
    assert.match(r.trustRoot, /block 0/);
  });

  test('a node that cannot serve past sets: the sets are derived from the blocks themselves', async () => {
    const r = await verifyChain(fakeNode(BLOCKS, { noSets: true }), {
      genesis: fixtureGenesis({ members: FOUR }),
    });
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    assert.deepEqual(
      r.setChanges.map((c) => c.source),
      ['transactions', 'transactions', 'transactions', 'transactions'],
    );
    assert.equal(r.trustRoot, 'the genesis document');
  });

  test('a node serving a made-up set is not believed', async () => {
    const at = CHANGES[2]!;
    const fake = BLOCKS[0]!.set;
    const r = await verifyChain(fakeNode(BLOCKS, { fakeSet: (h) => (h === at ? fake : undefined) }));
    assert.equal(r.ok, true, 'the derived set matched instead');
    assert.equal(r.setChanges[2]!.source, 'transactions');
  });

  test('names the first header that does not verify', async () => {
    const target = CHANGES[2]! + 1;
    const cases: [string, FakeOptions['tamper'], string][] = [
      [
        'a certificate signed by a validator removed at that height',
        (h, b) => {
          if (h !== target) return b;
          const removed = signers.get(toHex(key('gamma-val').address))!;
          const header = BLOCKS[h]!.header;
          const sigs = [...certify(header.chainId, header, BLOCKS[h]!.set).sigs];
          sigs[0] = {
            validator: removed.address,
            signature: removed.sign(
              encodePayload(commitPayload(header.chainId, h, 0, removed.address, blockHash(header))),
            ),
          };
          sigs.sort((x, y) => Buffer.compare(x.validator, y.validator));
          return { ...b, cert: certJson({ round: 0, sigs }) };
        },
        'bad-certificate',
      ],
      [
        'too few signatures',
        (h, b) => {
          if (h !== target) return b;
          const cert = BLOCKS[h]!.cert!;
          return { ...b, cert: certJson({ round: 0, sigs: cert.sigs.slice(1) }) };
        },
        'bad-certificate',
      ],
      [
        'a header that is not the one certified',
        (h, b) =>
          h === target ? { ...b, header: withoutHash({ ...(b.header as JsonObject), timestamp: 1 }) } : b,
        'bad-certificate',
      ],
      ['a missing block', (h, b) => (h === target ? null : b), 'missing-block'],
      [
        'a header whose claimed hash is not its hash',
        (h, b) =>
          h === target ? { ...b, header: { ...(b.header as JsonObject), hash: `0x${'00'.repeat(32)}` } } : b,
        'bad-header',
      ],
    ];
    for (const [name, tamper, code] of cases) {
      const r = await verifyChain(fakeNode(BLOCKS, { tamper }));
      assert.equal(r.ok, false, name);
      assert.deepEqual(
        [r.failure!.height, r.failure!.code],
        [target, code],
        `${name}: ${r.failure!.message}`,
      );
      assert.equal(r.verified, target - 1, name);
    }
  });

  test('a different chain link or a set hash that was not announced fails at that height', async () => {
    const target = 3;
    const other = BLOCKS.map((b) => ({ ...b }));
    // A block 3 from a fork: same signers, but not the child of block 2.
    const forged = { ...other[target]!.header, parentHash: new Uint8Array(32).fill(7) };
    other[target] = {
      ...other[target]!,
      header: forged,
      cert: certify(forged.chainId, forged, other[target]!.set),
    };
    const r = await verifyChain(fakeNode(other), { to: 5 });
    assert.deepEqual([r.failure?.height, r.failure?.code], [target, 'bad-parent']);
  });

  test('from and to: a range is verified from the set the node serves for its start', async () => {
    const from = CHANGES[1]! + 1;
    const r = await verifyChain(fakeNode(BLOCKS), { from, to: BLOCKS.length - 2 });
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    assert.equal(r.verified, BLOCKS.length - 2 - from + 1);
    assert.equal(r.initialSet.validators, 5);
    assert.match(r.trustRoot, new RegExp(`height ${from}`));
    const beyond = await verifyChain(fakeNode(BLOCKS), { to: BLOCKS.length + 3 });
    assert.deepEqual([beyond.failure?.height, beyond.failure?.code], [BLOCKS.length, 'missing-block']);
  });
});
