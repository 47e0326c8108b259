/**
 * The RPC layer's own Prometheus metrics, registered in the node's registry when one is given
 * (so /metrics shows them next to consensus and mempool metrics), and no-ops otherwise.
 * Label values are bounded: methods come from the route table (else "unknown"), codes from
 * the error table.
 */
import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';

export interface RpcMetrics {
  call(method: string, code: number, seconds: number): void;
  rejected(reason: string): void;
  connections(n: number): void;
  wsSessions(n: number): void;
  subscriptions(n: number): void;
  lagged(): void;
}

const noop = () => {};
export const NO_METRICS: RpcMetrics = {
  call: noop,
  rejected: noop,
  connections: noop,
  wsSessions: noop,
  subscriptions: noop,
  lagged: noop,
};

export function createRpcMetrics(
  registry: Registry | undefined,
  knownMethods: ReadonlySet<string>,
): RpcMetrics {
  if (!registry) return NO_METRICS;
  const registers = [registry];
  // A registry refuses a second metric of the same name; a restarted server (or a second
  // one sharing the registry) reuses the existing ones instead of crashing.
  const reuse = <M extends Metric>(name: string, make: () => M): M =>
    (registry.getSingleMetric(name) as M | undefined) ?? make();
  const calls = reuse(
    'synod_rpc_requests_total',
    () =>
      new Counter({
        name: 'synod_rpc_requests_total',
        help: 'JSON-RPC calls answered, by method and error code (0 = success)',
        labelNames: ['method', 'code'] as const,
        registers,
      }),
  );
  const duration = reuse(
    'synod_rpc_request_duration_seconds',
    () =>
      new Histogram({
        name: 'synod_rpc_request_duration_seconds',
        help: 'JSON-RPC call handling time',
        labelNames: ['method'] as const,
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
        registers,
      }),
  );
  const rejected = reuse(
    'synod_rpc_rejected_total',
    () =>
      new Counter({
        name: 'synod_rpc_rejected_total',
        help: 'Requests or connections refused by a limit, by reason',
        labelNames: ['reason'] as const,
        registers,
      }),
  );
  const connections = reuse(
    'synod_rpc_connections',
    () => new Gauge({ name: 'synod_rpc_connections', help: 'Open TCP connections', registers }),
  );
  const wsSessions = reuse(
    'synod_rpc_ws_sessions',
    () => new Gauge({ name: 'synod_rpc_ws_sessions', help: 'Open WebSocket sessions', registers }),
  );
  const subscriptions = reuse(
    'synod_rpc_subscriptions',
    () =>
      new Gauge({
        name: 'synod_rpc_subscriptions',
        help: 'Active WebSocket subscriptions',
        registers,
      }),
  );
  const lagged = reuse(
    'synod_rpc_lagged_total',
    () =>
      new Counter({
        name: 'synod_rpc_lagged_total',
        help: 'Subscriptions closed because the client fell behind',
        registers,
      }),
  );
  return {
    call(method, code, seconds) {
      const m = knownMethods.has(method) ? method : 'unknown';
      calls.inc({ method: m, code: String(code) });
      duration.observe({ method: m }, seconds);
    },
    rejected: (reason) => rejected.inc({ reason }),
    connections: (n) => connections.set(n),
    wsSessions: (n) => wsSessions.set(n),
    subscriptions: (n) => subscriptions.set(n),
    lagged: () => lagged.inc(),
  };
}
