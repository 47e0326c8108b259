/**
 * The consensus WAL record (docs/protocol.md §3.3): everything a replica must find on disk after a crash
 * so that it never signs two different payloads for one (height, round, type) and never loses
 * `round` or `prepared` (losing either breaks safety, not just double-sign protection).
 *
 * The record is small and complete, rewritten whole whenever it changes: the driver writes it and
 * fsyncs BEFORE sending anything from the same Ready. It holds:
 *   - height, round: round never decreases within a height;
 *   - accepted: the proposal PREPAREd in `round` (block bytes included, so R2 can still commit it);
 *   - prepared: the last round with a prepare quorum, with its block and certificate (I4);
 *   - sent: the wire frames this replica signed in `round`, one per type. Frames of earlier rounds
 *     are not kept: an honest replica never signs for a round below its current one (I2), so only
 *     keys of the current round can ever be signed again.
 * Encoding: the canonical map {v: 1, chainId, height, round, accepted?, prepared?, sent}.
 */
import {
  asBytes,
  asList,
  asMap,
  asNumber,
  asString,
  decode,
  encode,
  expectKeys,
  type Value,
  type ValueMap,
} from '../crypto/encoding.js';
import { MessageError, WalError } from './errors.js';
import {
  DIGEST_LENGTH,
  decodeSignedItem,
  type SignedItem,
  signedItemValue,
  type VotePayload,
} from './payload.js';

export const WAL_VERSION = 1;

export interface WalRecord {
  chainId: string;
  height: number;
  round: number;
  accepted?: { round: number; digest: Uint8Array; block: Uint8Array };
  prepared?: { round: number; digest: Uint8Array; block: Uint8Array; cert: SignedItem<VotePayload>[] };
  /** Wire frames signed in `round`, in signing order. */
  sent: Uint8Array[];
}

export function encodeWalRecord(r: WalRecord): Uint8Array {
  const v: ValueMap = {
    v: WAL_VERSION,
    chainId: r.chainId,
    height: r.height,
    round: r.round,
    sent: r.sent,
  };
  if (r.accepted)
    v.accepted = { round: r.accepted.round, digest: r.accepted.digest, block: r.accepted.block };
  if (r.prepared) {
    v.prepared = {
      round: r.prepared.round,
      digest: r.prepared.digest,
      block: r.prepared.block,
      cert: r.prepared.cert.map(signedItemValue),
    };
  }
  return encode(v);
}

/** Parses a record; throws WalError('malformed') on anything but a well-formed record of this version. */
export function decodeWalRecord(bytes: Uint8Array): WalRecord {
  try {
    const m = asMap(decode(bytes), 'wal');
    expectKeys(m, ['v', 'chainId', 'height', 'round', 'sent'], ['accepted', 'prepared'], 'wal');
    if (m.v !== WAL_VERSION) throw new Error(`wal: unknown version ${String(m.v)}`);
    const out: WalRecord = {
      chainId: asString(m.chainId, 'wal.chainId'),
      height: asNumber(m.height, 'wal.height'),
      round: asNumber(m.round, 'wal.round'),
      sent: asList(m.sent, 'wal.sent').map((s, i) => asBytes(s, `wal.sent[${i}]`)),
    };
    if (out.sent.length > 4) throw new Error('wal: more than one sent frame per type');
    if (m.accepted !== undefined) {
      const a = asMap(m.accepted, 'wal.accepted');
      expectKeys(a, ['round', 'digest', 'block'], [], 'wal.accepted');
      out.accepted = {
        round: asNumber(a.round, 'wal.accepted.round'),
        digest: asBytes(a.digest, 'wal.accepted.digest', DIGEST_LENGTH),
        block: asBytes(a.block, 'wal.accepted.block'),
      };
      if (out.accepted.round !== out.round) throw new Error('wal: accepted must be of the current round');
    }
    if (m.prepared !== undefined) {
      const p = asMap(m.prepared, 'wal.prepared');
      expectKeys(p, ['round', 'digest', 'block', 'cert'], [], 'wal.prepared');
      const cert = asList(p.cert, 'wal.prepared.cert').map((x: Value, i) =>
        decodeSignedItem(x, `wal.prepared.cert[${i}]`),
      );
      for (const c of cert)
        if (c.payload.type !== 'PREPARE') throw new Error('wal: prepared.cert holds a non-PREPARE');
      out.prepared = {
        round: asNumber(p.round, 'wal.prepared.round'),
        digest: asBytes(p.digest, 'wal.prepared.digest', DIGEST_LENGTH),
        block: asBytes(p.block, 'wal.prepared.block'),
        cert: cert as SignedItem<VotePayload>[],
      };
      if (out.prepared.round > out.round) throw new Error('wal: prepared round above the current round');
    }
    return out;
  } catch (e) {
    if (e instanceof WalError) throw e;
    const msg = e instanceof MessageError || e instanceof Error ? e.message : String(e);
    throw new WalError('malformed', msg);
  }
}
