/**
 * Worker thread of the benchmark: signs transfers before the clock starts, so signing cost
 * never competes with the nodes for CPU while load is offered. Started by `startSignWorker`;
 * each message is one job, answered with the encoded transactions and their hashes as 0x-hex.
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { Signer } from '../crypto/ed25519.js';
import { toHex } from '../crypto/hash.js';
import { encodeSignedTx, txHash } from '../ledger/codec.js';
import { Wallet } from '../ledger/tx-builder.js';

/** What the benchmark sends: transfers (with a memo of `payloadBytes`) or data.put writes. */
export type BenchKind = 'transfer' | 'data';

export interface SignJob {
  chainId: string;
  kind: BenchKind;
  /** Transfer memo length, or data.put value length, in bytes. */
  payloadBytes: number;
  /** One entry per sender: its secret key, the recipient address, how many transfers. */
  senders: { secretKey: Uint8Array; to: Uint8Array; count: number; nonce: number }[];
}
/** Per sender, in nonce order. */
export type SignResult = { hex: string[]; hash: string[] }[];

function signJob(job: SignJob): SignResult {
  const memo = job.payloadBytes > 0 ? 'm'.repeat(job.payloadBytes) : undefined;
  return job.senders.map((s) => {
    const wallet = new Wallet(new Signer(s.secretKey), job.chainId, s.nonce);
    const hex: string[] = [];
    const hash: string[] = [];
    for (let k = 0; k < s.count; k++) {
      // data.put: each write its own key (a fresh state entry), the value a fixed pattern.
      const stx =
        job.kind === 'data'
          ? wallet.dataPut(`bench/${k}`, new Uint8Array(job.payloadBytes).fill(k & 0xff))
          : wallet.transfer(s.to, 1n, memo);
      hex.push(toHex(encodeSignedTx(stx)));
      hash.push(toHex(txHash(stx)));
    }
    return { hex, hash };
  });
}

/**
 * A worker running this file. Node 20 loads a worker's entry before any loader hook is
 * registered, so a .ts entry fails; a small evaluated bootstrap registers the TypeScript
 * loader first and then imports this module.
 */
export function startSignWorker(): Worker {
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const self = JSON.stringify(import.meta.url);
  return new Worker(`import(${api}).then((m) => { m.register(); return import(${self}); })`, { eval: true });
}

/** Runs one job on a worker and resolves with its answer. */
export function runSignJob(worker: Worker, job: SignJob): Promise<SignResult> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage(job);
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (job: SignJob) => port.postMessage(signJob(job)));
}
