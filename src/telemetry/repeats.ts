// Warnings a client can repeat cheaply (a refused connection, a sign-in refused while locked out): a line
// each would let one client write megabytes of log a minute. The first of a kind (its key) is logged at
// once; the ones after it are counted and logged as one line a minute (and at stop), with `repeats`, while
// they go on. A key quiet for a whole minute is forgotten: its next event is logged at once again.
import type { Logger } from './log.ts';

/** Keys counted at once; the events of more are added up under one line. */
const MAX_KEYS = 10_000;

export interface Repeats {
  /** One event: logged with `fields` when it is the first of `key` for a while, else counted. */
  hit(key: string, fields: Record<string, unknown>): void;
  /** Logs what is counted and stops the timer. */
  stop(): void;
}

export function repeatedWarning(log: Logger, msg: string, everyMs = 60_000): Repeats {
  const counted = new Map<string, { fields: Record<string, unknown>; repeats: number }>();
  let others = 0;
  const flush = () => {
    for (const [k, c] of counted) {
      if (c.repeats === 0) counted.delete(k);
      else log.warn({ ...c.fields, repeats: c.repeats }, msg);
      c.repeats = 0;
    }
    if (others > 0) log.warn({ repeats: others, others: true }, msg);
    others = 0;
  };
  const timer = setInterval(flush, everyMs);
  timer.unref();
  return {
    hit(key, fields) {
      const c = counted.get(key);
      if (c) c.repeats++;
      else if (counted.size >= MAX_KEYS) others++;
      else {
        counted.set(key, { fields, repeats: 0 });
        log.warn(fields, msg);
      }
    },
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}
