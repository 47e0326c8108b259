/**
 * Checkers that watch every step of a simulation (TigerBeetle's state checker, in spirit). Each
 * records violations rather than throwing, so a run reports everything it saw.
 *
 *   agreement    no two honest nodes commit different blocks at one height
 *   validity     every committed tx was submitted and is committed at most once per chain, and
 *                every committed block extends the node's own chain
 *   certificate  every honest commit carries a certificate that verifies against V(h) with the
 *                real quorum (never the replica's own, possibly broken, rule)
 *   double-sign  no honest node signs two different payloads for one (height, round, type)
 *   round        an honest node's round never falls below one it already signed in (restarts)
 *   evidence     every evidence record verifies and accuses a Byzantine node
 *   fatal        no honest node raises a fatal alarm
 *   buffer       the future buffer respects its per-peer and total bounds, in messages and bytes
 *   frame-limit  no honest node has to send a frame over the limit its peers enforce
 *   params       an honest replica runs each height under the chain parameters in force there
 *   liveness     after the heal, every submitted tx commits at every honest node within the bound
 *   exception    the core threw (an assertion of one of its invariants fired)
 */
import { bytesEqual, toHex } from '../../crypto/hash.js';
import { isValidCommitCertificate } from '../certificate.js';
import type { Commit, FatalAlarm } from '../events.js';
import { type Evidence, verifyEvidence } from '../evidence.js';
import type { VerifyFn } from '../payload.js';
import { addressKey, type ValidatorSet } from '../validators.js';
import type { SimBlock } from './block.js';

export type CheckerName =
  | 'agreement'
  | 'validity'
  | 'certificate'
  | 'double-sign'
  | 'round'
  | 'evidence'
  | 'fatal'
  | 'buffer'
  | 'frame-limit'
  | 'params'
  | 'liveness'
  /** The core threw: an invariant (programmer error) fired. */
  | 'exception';

export interface Violation {
  checker: CheckerName;
  t: number;
  node: string;
  message: string;
}

export interface CheckerContext {
  chainId: string;
  verify: VerifyFn;
  validatorsAt: (height: number) => ValidatorSet;
  byzantineAddresses: ReadonlySet<string>;
  submitted: ReadonlySet<string>;
  /** Checkers to switch off (tests use this to show that another checker catches a bug too). */
  disabled?: readonly CheckerName[];
}

export class Checkers {
  readonly violations: Violation[] = [];
  /** height -> first honest committed digest (hex) */
  private readonly decided = new Map<number, string>();
  /** author/height/round/type -> payload hex of honest signatures */
  private readonly signedBy = new Map<string, string>();
  /** node -> height -> highest round it signed in */
  private readonly signedRound = new Map<string, Map<number, number>>();

  constructor(private readonly ctx: CheckerContext) {}

  private fail(checker: CheckerName, t: number, node: string, message: string): void {
    if (this.ctx.disabled?.includes(checker)) return;
    // Bound the report: a broken rule can produce thousands of the same violation.
    if (this.violations.length < 50) this.violations.push({ checker, t, node, message });
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  onCommit(
    t: number,
    node: string,
    commit: Commit<SimBlock>,
    chain: { headHash: Uint8Array; committedTxs: ReadonlySet<string> },
  ): void {
    const h = commit.height;
    const digest = toHex(commit.digest);
    const first = this.decided.get(h);
    if (first === undefined) this.decided.set(h, digest);
    else if (first !== digest)
      this.fail('agreement', t, node, `height ${h}: committed ${digest}, another honest node ${first}`);
    const b = commit.block;
    if (b.height !== h || !bytesEqual(b.parentHash, chain.headHash)) {
      this.fail('validity', t, node, `height ${h}: block does not extend the node's chain`);
    }
    const inBlock = new Set<string>();
    for (const tx of b.txs) {
      if (!this.ctx.submitted.has(tx))
        this.fail('validity', t, node, `height ${h}: tx ${tx} was never submitted`);
      if (chain.committedTxs.has(tx) || inBlock.has(tx))
        this.fail('validity', t, node, `height ${h}: tx ${tx} committed twice`);
      inBlock.add(tx);
    }
    const vs = this.ctx.validatorsAt(h);
    if (
      !isValidCommitCertificate(this.ctx.chainId, h, commit.digest, commit.cert, vs, {
        verify: this.ctx.verify,
      })
    ) {
      this.fail(
        'certificate',
        t,
        node,
        `height ${h}: certificate of round ${commit.cert.round} with ${commit.cert.sigs.length} signers does not verify against V(${h}) (q=${vs.quorum})`,
      );
    }
  }

  /** An honest node signed `payload` (hex) for this key. */
  onSigned(
    t: number,
    node: string,
    author: Uint8Array,
    height: number,
    round: number,
    type: string,
    payloadHex: string,
  ): void {
    const key = `${addressKey(author)}/${height}/${round}/${type}`;
    const prev = this.signedBy.get(key);
    if (prev === undefined) this.signedBy.set(key, payloadHex);
    else if (prev !== payloadHex)
      this.fail('double-sign', t, node, `signed two different ${type} for (h=${height}, r=${round})`);
    let rounds = this.signedRound.get(node);
    if (!rounds) {
      rounds = new Map();
      this.signedRound.set(node, rounds);
    }
    if ((rounds.get(height) ?? -1) < round) rounds.set(height, round);
  }

  /** After every step of an honest node: its round at its height is never below one it signed in. */
  onStep(t: number, node: string, height: number, round: number, status: string): void {
    if (status !== 'running') return;
    const signed = this.signedRound.get(node)?.get(height);
    if (signed !== undefined && round < signed) {
      this.fail(
        'round',
        t,
        node,
        `at height ${height} round ${round} is below round ${signed} it already signed in`,
      );
    }
  }

  /** After a step: the chain-parameter limits the replica uses at `height` are those in force. */
  onParams(
    t: number,
    node: string,
    height: number,
    expected: Readonly<Record<string, number>>,
    actual: Readonly<Record<string, number>>,
  ): void {
    for (const [name, want] of Object.entries(expected)) {
      if (actual[name] !== want)
        this.fail(
          'params',
          t,
          node,
          `at height ${height} ${name} is ${actual[name]}, the chain says ${want}`,
        );
    }
  }

  onEvidence(t: number, node: string, ev: Evidence): void {
    try {
      verifyEvidence(this.ctx.chainId, ev, this.ctx.validatorsAt(ev.height), this.ctx.verify);
    } catch (e) {
      this.fail('evidence', t, node, `invalid evidence: ${(e as Error).message}`);
      return;
    }
    if (!this.ctx.byzantineAddresses.has(addressKey(ev.validator))) {
      this.fail(
        'evidence',
        t,
        node,
        `evidence ${ev.kind} (h=${ev.height}, r=${ev.round}) against an honest validator`,
      );
    }
  }

  onFatal(t: number, node: string, alarm: FatalAlarm): void {
    this.fail('fatal', t, node, `${alarm.code} at height ${alarm.height}: ${alarm.message}`);
  }

  onBuffer(
    t: number,
    node: string,
    largestPeer: number,
    total: number,
    perPeerMax: number,
    totalMax: number,
  ): void {
    if (largestPeer > perPeerMax || total > totalMax) {
      this.fail(
        'buffer',
        t,
        node,
        `future buffer ${largestPeer}/peer, ${total} total exceeds ${perPeerMax}/${totalMax}`,
      );
    }
  }

  onBufferBytes(
    t: number,
    node: string,
    largestPeerBytes: number,
    totalBytes: number,
    perPeerBytesMax: number,
    totalBytesMax: number,
  ): void {
    if (largestPeerBytes > perPeerBytesMax || totalBytes > totalBytesMax) {
      this.fail(
        'buffer',
        t,
        node,
        `future buffer ${largestPeerBytes} bytes/peer, ${totalBytes} bytes total exceeds ${perPeerBytesMax}/${totalBytesMax}`,
      );
    }
  }

  onFrameLimit(t: number, node: string, kind: string, bytes: number, frameBytesMax: number): void {
    this.fail(
      'frame-limit',
      t,
      node,
      `had to send a ${kind} frame of ${bytes} bytes; peers refuse over ${frameBytesMax}`,
    );
  }

  onException(t: number, node: string, e: unknown): void {
    this.fail('exception', t, node, e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }

  onLiveness(t: number, node: string, message: string): void {
    this.fail('liveness', t, node, message);
  }
}
