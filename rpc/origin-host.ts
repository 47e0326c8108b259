/**
 * Which Host and Origin values the RPC port serves: the defence against DNS rebinding and
 * against pages of other origins driving a node through the user's browser.
 *
 * Why: a node bound to 127.0.0.1 is reachable from every web page the operator's browser opens.
 * A page on evil.example can re-point its own name at 127.0.0.1 (DNS rebinding) and then talk
 * to the node as if same-origin, but its requests still carry `Host: evil.example`; and a page
 * can open a WebSocket to any address (browsers apply no CORS to WebSockets), but the upgrade
 * carries its `Origin`. So:
 *
 * - **Host.** Loopback names (`localhost`, `*.localhost`, 127.0.0.0/8, `[::1]`, any port) are
 *   always served. `allowedHosts` adds names (`name` for any port, `name:port` for one); `*`
 *   serves any Host. Default: `[]` when bound to a loopback address, `['*']` otherwise (an
 *   operator who opens the port names its hosts). A request without Host is served: browsers
 *   always send one. A refused request gets 403 before its body is read.
 * - **Origin** (sent by browsers, not by the SDK, wscat or curl: absent is allowed). Allowed
 *   when it is the request's own origin (its host:port equals the Host header, which passed the
 *   Host rule: the explorer the node serves at `/`), or it is listed in `allowedOrigins`, or
 *   that list holds `*`. Otherwise HTTP requests and WebSocket upgrades get 403.
 * - **CORS.** Same-origin requests need no header. A listed cross origin gets
 *   `Access-Control-Allow-Origin` (the origin itself, or `*` for `*`) and an answer to its
 *   preflight, so a listed web app can read what it is allowed to send.
 */

export interface OriginHostOptions {
  /** The address the server binds (decides the default of `allowedHosts`). */
  bindHost: string;
  allowedHosts?: readonly string[] | undefined;
  allowedOrigins?: readonly string[] | undefined;
}

/** `name` or `name:port`, or `*`; a name is a DNS name or an IPv4 or bracketed IPv6 address. */
const HOST_ENTRY = /^(\*|(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?)$/i;

/** Splits a Host header value into a lowercase name (brackets kept for IPv6) and port. */
export function splitHost(value: string): { name: string; port: string | undefined } | undefined {
  const v = value.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return undefined;
  // A trailing dot names the same host ("localhost." is localhost).
  const name = m[1]!.endsWith('.') ? m[1]!.slice(0, -1) : m[1]!;
  return { name, port: m[2] };
}

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** True for names that resolve to this machine only. */
export function isLoopbackName(name: string): boolean {
  const n = name.toLowerCase();
  return (
    n === 'localhost' ||
    n.endsWith('.localhost') ||
    IPV4_LOOPBACK.test(n) ||
    n === '[::1]' ||
    n === '::1' ||
    n === '[::ffff:127.0.0.1]'
  );
}

/** Problems with configured entries, each naming it; empty when valid. */
export function originHostProblems(o: Pick<OriginHostOptions, 'allowedHosts' | 'allowedOrigins'>): string[] {
  const out: string[] = [];
  for (const h of o.allowedHosts ?? []) {
    if (!HOST_ENTRY.test(h)) out.push(`allowedHosts: '${h}' is not '*', a host name or name:port`);
  }
  for (const origin of o.allowedOrigins ?? []) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin.toLowerCase()) {
      out.push(`allowedOrigins: '${origin}' is not '*' or an origin such as https://app.example:8443`);
    }
  }
  return out;
}

export type OriginVerdict =
  /** No Origin, or the request's own origin: served without CORS headers. */
  | { ok: true; cors: undefined }
  /** A listed cross origin: served with this Access-Control-Allow-Origin value. */
  | { ok: true; cors: string }
  | { ok: false };

export class OriginHostRule {
  private readonly anyHost: boolean;
  /** Listed names allowed with any port. */
  private readonly names = new Set<string>();
  /** Listed name:port pairs. */
  private readonly hostPorts = new Set<string>();
  private readonly anyOrigin: boolean;
  private readonly origins: Set<string>;

  constructor(o: OriginHostOptions) {
    const problems = originHostProblems(o);
    if (problems.length > 0) throw new RangeError(problems.join('; '));
    const hosts = o.allowedHosts ?? (isLoopbackName(stripBrackets(o.bindHost)) ? [] : ['*']);
    this.anyHost = hosts.includes('*');
    for (const h of hosts) {
      if (h === '*') continue;
      const split = splitHost(h);
      if (!split) continue;
      if (split.port === undefined) this.names.add(split.name);
      else this.hostPorts.add(`${split.name}:${split.port}`);
    }
    const origins = o.allowedOrigins ?? [];
    this.anyOrigin = origins.includes('*');
    this.origins = new Set(origins.filter((x) => x !== '*').map((x) => x.toLowerCase()));
  }

  /** Whether a request with this Host header is served. */
  hostAllowed(host: string | undefined): boolean {
    if (host === undefined || this.anyHost) return true;
    const split = splitHost(host);
    if (!split) return false;
    if (isLoopbackName(split.name) || this.names.has(split.name)) return true;
    return split.port !== undefined && this.hostPorts.has(`${split.name}:${split.port}`);
  }

  /** Whether a request with this Origin (and a Host that passed `hostAllowed`) is served. */
  checkOrigin(origin: string | undefined, host: string | undefined): OriginVerdict {
    if (origin === undefined) return { ok: true, cors: undefined };
    const o = origin.trim().toLowerCase();
    if (host !== undefined && this.hostAllowed(host) && sameOrigin(o, host))
      return { ok: true, cors: undefined };
    if (this.origins.has(o)) return { ok: true, cors: o };
    if (this.anyOrigin) return { ok: true, cors: '*' };
    return { ok: false };
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The origin is http(s)://<host> with exactly the Host header's name and port. */
function sameOrigin(origin: string, host: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.origin !== origin) return false;
  const h = splitHost(host);
  if (!h) return false;
  // URL drops a default port; so does a browser's Host header.
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  const hostPort = h.port ?? defaultPort;
  const originPort = url.port === '' ? defaultPort : url.port;
  return url.hostname === h.name && originPort === hostPort;
}
