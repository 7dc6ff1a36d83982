// `npm run bench -- NAME...`: runs benchmarks by name, one after the other, each as BENCHMARKS.md records
// it (Petrel and its peer in the same run); without a name, lists them. Most need root and the Debian
// peers (Postfix, Dovecot, SpamAssassin) that .ci/run installs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Name -> the script and the arguments BENCHMARKS.md's figures were made with. */
const BENCHMARKS: Record<string, { script: string; args: string[]; what: string }> = {
  smtp: { script: 'smtp.ts', args: ['--messages', '5000'], what: 'inbound SMTP, durably delivered (vs Postfix)' },
  imap: {
    script: 'imap.ts',
    args: ['--messages=100000', '--runs=5', '--clients=50', '--duration=30'],
    what: 'IMAP large mailbox, mixed load, memory per IDLE connection (vs Dovecot)',
  },
  idle: { script: 'idle.ts', args: ['200'], what: 'delivery to IDLE notification latency (vs Dovecot)' },
  'imap-search': { script: 'imap-search.ts', args: ['--messages', '20000'], what: 'IMAP SEARCH keys (vs Dovecot)' },
  pop3: { script: 'pop3.ts', args: ['5000', '5', '64'], what: 'POP3 RETR of a maildrop (vs Dovecot)' },
  store: { script: 'store.ts', args: ['5000'], what: 'store append and list (vs Dovecot)' },
  outbound: { script: 'outbound.ts', args: ['2000'], what: 'outbound queue to a remote MTA (vs Postfix)' },
  spam: { script: 'spam.ts', args: [], what: 'spam accuracy and speed (vs SpamAssassin)' },
};

const names = process.argv.slice(2);
if (names.length === 0) {
  console.log('usage: npm run bench -- NAME...   (figures go in BENCHMARKS.md by hand)\n');
  for (const [name, b] of Object.entries(BENCHMARKS))
    console.log(`  ${name.padEnd(12)} node bench/${b.script} ${b.args.join(' ')}\n  ${''.padEnd(12)} ${b.what}`);
  process.exit(0);
}
for (const name of names) {
  const b = BENCHMARKS[name];
  if (!b) {
    console.error(`unknown benchmark: ${name} (run without arguments for the list)`);
    process.exit(2);
  }
  console.log(`== ${name}: node bench/${b.script} ${b.args.join(' ')}`);
  const r = spawnSync(process.execPath, [join(here, b.script), ...b.args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
