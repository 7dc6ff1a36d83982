// Durations in the config ("500ms", "30s", "5m", "4h", "5d") as milliseconds.
import { ConfigError } from './load.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of "N" + unit (ms, s, m, h, d); a bare "0" is zero. Throws on anything else. */
export function parseDuration(text: string, key = 'duration'): number {
  const t = text.trim();
  if (t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/i.exec(t);
  // A ConfigError: every command reports it in one line naming the key, not as an unexpected error.
  if (!m) throw new ConfigError(`${key}: "${text}" is not a duration (e.g. 500ms, 30s, 5m, 4h, 5d)`);
  return Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

/** "1h 30m"-style text for durations in listings. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join(' ');
}
