// The log lines of connections refused by a limit (total, per IP, rate). A client past its limit can open
// thousands of connections a second at the cost of a handshake each; a line for each would let it write
// megabytes of log a minute. So the first refusal of a client (and reason) is logged at once, and the
// ones after it are counted and logged as one line a minute (and at shutdown) while they go on.
import type { Logger } from '../telemetry/log.ts';
import { type Repeats, repeatedWarning } from '../telemetry/repeats.ts';

export interface RefusalLog {
  /** A connection from `ip` (counted as `key`, its clientKey) refused for `reason`. */
  refused(ip: string, key: string, reason: string): void;
  /** Logs what is counted and stops the timer (the listener closes). */
  stop(): void;
}

export function refusalLog(log: Logger, listener: string): RefusalLog {
  const repeats: Repeats = repeatedWarning(log, 'connection refused by limit');
  return {
    refused: (ip, key, reason) => repeats.hit(`${reason} ${key}`, { listener, ip, reason }),
    stop: () => repeats.stop(),
  };
}
