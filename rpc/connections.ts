/**
 * Per-IP and total TCP connection limits. Counted when a connection is accepted. A refused
 * connection is not counted; it still gets a real answer to its first request (HTTP 429 /
 * 503 with a JSON-RPC error body, then close) rather than a reset or a hang, and it is cut
 * after a short linger if it sends nothing, so idle refused sockets cannot pile up.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RpcError } from './errors.js';

/** How long a refused socket may linger to receive its answer. */
export const REFUSE_LINGER_MS = 2_000;

export type Admission = { ok: true } | { ok: false; status: 429 | 503; error: RpcError };

export class ConnectionLimiter {
  private readonly perIp = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxPerIp: number,
    private readonly maxTotal: number,
  ) {}

  get open(): number {
    return this.total;
  }

  countFor(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** Admits (and counts, until the socket closes) or refuses a new connection. */
  admit(socket: Socket): Admission {
    const ip = socket.remoteAddress ?? 'unknown';
    if (this.total >= this.maxTotal) {
      return { ok: false, status: 503, error: RpcError.rateLimited('connections', this.maxTotal) };
    }
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.maxPerIp) {
      return { ok: false, status: 429, error: RpcError.rateLimited('connectionsPerIp', this.maxPerIp) };
    }
    this.perIp.set(ip, n + 1);
    this.total++;
    socket.once('close', () => {
      this.total--;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
    return { ok: true };
  }
}

/**
 * Writes a complete HTTP response on a raw socket (refused or bad WebSocket upgrades, which
 * have no ServerResponse) and closes it. The socket keeps reading and discarding, so closing
 * with unread input does not become a TCP reset that destroys the answer before it is read.
 */
export function rawHttpAnswer(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.on('error', () => {});
  socket.on('data', () => {});
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
  setTimeout(() => socket.destroy(), REFUSE_LINGER_MS).unref();
}
