// Structured JSON logging (pino): one root logger, one child per connection carrying its session id.
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Fields whose values are never written, wherever they appear in a log record. */
const REDACT = [
  'password',
  'pass',
  'secret',
  'token',
  'authorization',
  'passwordHash',
  'password_hash',
  '*.password',
  '*.pass',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.passwordHash',
  '*.postgres_url',
  'config.store.postgres_url',
];

export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'petrel' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A short random id naming one connection in logs, traces and protocol replies. */
export function sessionId(): string {
  return randomBytes(6).toString('base64url');
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = pino({ level: 'silent' });
