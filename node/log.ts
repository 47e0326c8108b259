/**
 * Logging: pino, JSON lines by default, human-readable when stdout is a terminal (or when
 * `pretty` is forced). Each module takes a child logger: `log.child({module: 'consensus'})`,
 * and adds its own fields (height, view, peer) per line instead of building text.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Force pretty output on or off; by default pretty only on a terminal. */
  pretty?: boolean;
  /** Fixed fields on every line, e.g. {node: 'node-0'}. */
  base?: Record<string, unknown>;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogger(options: LogOptions = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  return pino({
    level: options.level ?? 'info',
    base: { ...(options.base ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  });
}

/** A logger that drops everything: for tests and library use without a sink. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
