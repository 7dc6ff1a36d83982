// Event-loop stall warnings. Every protocol shares one event loop, so CPU work that runs long (a hostile
// input meeting a slow path, a huge message) delays every connection at once, and nothing else says
// so. This samples the loop's delay and logs the worst of each interval past a threshold.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from './log.ts';

export interface StallOptions {
  /** Delays at or above this many milliseconds are logged. */
  thresholdMs: number;
  /** How often the worst delay seen is checked (and the sampling starts over). */
  everyMs: number;
}

/** Starts watching; returns the function that stops it. */
export function watchStalls(log: Logger, opts: StallOptions = { thresholdMs: 1000, everyMs: 5000 }): () => void {
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  const timer = setInterval(() => {
    const worstMs = delay.max / 1e6;
    if (worstMs >= opts.thresholdMs)
      log.warn({ blockedMs: Math.round(worstMs), thresholdMs: opts.thresholdMs }, 'event loop blocked');
    delay.reset();
  }, opts.everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
