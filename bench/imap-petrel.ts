// Child process for bench/imap.ts: a Petrel with users user1..N (password "pass") and preloaded mail,
// loaded fast through MailService.appendIngested. Prints {"port": n} when ready; exits when stdin closes.
// Usage: node bench/imap-petrel.ts DIR USERS BIG_MESSAGES SMALL_MESSAGES   (load, then serve)
//        node bench/imap-petrel.ts DIR serve                              (serve what DIR holds)
import { defaults } from '../src/config/load.ts';
import type { Ingested } from '../src/mailbox/content.ts';
import { openApp } from '../src/server/app.ts';
import { serve } from '../src/server/serve.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { loadCorpus } from './corpus.ts';

const [dir, usersArg, bigArg, smallArg] = process.argv.slice(2);
const serveOnly = usersArg === 'serve';
const users = Number(usersArg);
const big = Number(bigArg);
const small = Number(smallArg);

const config = defaults();
config.server.data_dir = dir;
config.server.hostname = 'bench.petrel';
for (const l of Object.values(config.listeners)) {
  l.port = 0;
  l.enabled = false;
}
config.listeners.imap.enabled = true;
config.imap.max_connections = 100000;
config.imap.max_connections_per_ip = 100000;
const app = await openApp(config, silentLogger);
if (!serveOnly) await load();
async function load() {
  await app.directory.addDomain('bench.test');
  const corpus = loadCorpus();
  const ingested: Ingested[] = [];
  for (const m of corpus) ingested.push(await app.mail.ingest(m));
  for (let u = 1; u <= users; u++) {
    const acc = await app.directory.addAccount(`user${u}@bench.test`, 'pass');
    const inbox = (await app.store.getMailbox(acc.id, 'INBOX'))!;
    const n = u === 1 ? big : small;
    for (let i = 0; i < n; i += 2000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 2000); j++)
        batch.push({
          accountId: acc.id,
          mailboxId: inbox.id,
          content: ingested[j % ingested.length],
          flags: j % 3 ? ['\\Seen'] : [],
        });
      await app.mail.appendIngested(batch);
    }
  }
}
const server = await serve(app);
process.stdout.write(`${JSON.stringify({ port: server.ports.imap, pid: process.pid })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.stop();
  process.exit(0);
});
