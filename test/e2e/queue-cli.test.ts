// `petrel queue` and `petrel dkim` as an administrator runs them: a real process on a real data directory,
// with mail queued by the server's own code in the same directory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { defaults } from '../../src/config/load.ts';
import { type App, openApp } from '../../src/server/app.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { commonPort, type FakeMta, startFakeMta } from '../helpers/fake-mta.ts';
import { waitFor } from '../helpers/outbound.ts';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import {
  inboxOf,
  openStoppedPetrel,
  outboundEnv,
  type PetrelProcess,
  startPetrel,
  stopPetrel,
} from './petrel-process.ts';

const run = promisify(execFile);
const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-qcli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function petrel(args: string[]) {
  return petrelIn(dir, args);
}

/** `petrel ARGS` as a process in `cwd`, with PETREL_* variables (a PostgreSQL store, say) over the test's. */
async function petrelIn(cwd: string, args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

test('domain add makes a DKIM key and prints its record; dkim generate, show and remove', async () => {
  const add = await petrel(['domain', 'add', 'example.com']);
  assert.equal(add.code, 0, add.err);
  assert.match(add.out, /^petrel\._domainkey\.example\.com\.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=MII/m);
  // Kept in the store, where every node of a cluster finds it: no key file.
  assert.equal(existsSync(join(dir, 'data', 'dkim', 'example.com', 'petrel.pem')), false);
  const ed = await petrel(['dkim', 'generate', 'example.com', '--algorithm', 'ed25519', '--selector', 'ed1']);
  assert.equal(ed.code, 0, ed.err);
  assert.match(ed.out, /^ed1\._domainkey\.example\.com\.\t3600\tIN\tTXT\t"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$/m);
  const show = await petrel(['dkim', 'show', 'example.com']);
  assert.match(show.out, /petrel\._domainkey/);
  assert.match(show.out, /ed1\._domainkey/);
  for (const o of [add, ed, show]) assert.doesNotMatch(o.out + o.err, /PRIVATE KEY/, 'private keys are never printed');
  const again = await petrel(['dkim', 'generate', 'example.com', '--selector', 'ed1']);
  assert.equal(again.code, 1);
  assert.match(again.err, /already has a DKIM key with selector ed1/);
  // A second key (a rollover) needs a selector of its own: the refusal says how to give one.
  const second = await petrel(['dkim', 'generate', 'example.com']);
  assert.equal(second.code, 1);
  assert.match(second.err, /selector petrel; a new key needs another: --selector NAME$/m);
  const other = await petrel(['dkim', 'show', 'nowhere.test']);
  assert.equal(other.code, 1);
  assert.match(other.err, /not hosted here/);
  assert.equal((await petrel(['dkim', 'remove', 'example.com', 'ed1'])).code, 0);
  assert.doesNotMatch((await petrel(['dkim', 'show', 'example.com'])).out, /ed1\._domainkey/);
});

test('init prints the DKIM record of the first domain; the next command on its config imports the key into the store', async () => {
  const site = join(dir, 'site');
  const r = await petrel(['init', '--domain', 'init.test', '--hostname', 'mail.init.test', '--dir', site]);
  assert.equal(r.code, 0, r.err);
  const record = /^petrel\._domainkey\.init\.test\.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=.*$/m.exec(r.out)?.[0];
  assert.ok(record, r.out);
  const keyFile = join(site, 'data', 'dkim', 'init.test', 'petrel.pem');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  // No store yet: the key waits as a file. The first command that opens the store takes it in, and the
  // domain's records show the very key init published (domain add makes none when one is there).
  const add = await petrel(['domain', 'add', 'init.test', '--config', join(site, 'petrel.toml')]);
  assert.equal(add.code, 0, add.err);
  assert.ok(add.out.split('\n').includes(record), add.out);
  assert.equal(existsSync(keyFile), false);
  assert.ok(existsSync(`${keyFile}.imported`), 'the file is kept, renamed');
});

test("serve --config as init says: the first start's hints name that file and work from any directory", async () => {
  const site = join(dir, 'hinted');
  const config = join(site, 'petrel.toml');
  assert.equal(
    (await petrel(['init', '--domain', 'hint.test', '--hostname', 'mail.hint.test', '--dir', site])).code,
    0,
  );
  // init's config listens on every address; the test keeps to loopback (the ports are the OS's choice).
  const loopback: Record<string, string> = {};
  for (const l of ['SMTP', 'SUBMISSION', 'SUBMISSIONS', 'IMAP', 'IMAPS', 'POP3', 'POP3S', 'HTTP', 'LMTP'])
    loopback[`PETREL_LISTENERS_${l}_BIND`] = '127.0.0.1';
  const s = await startPetrel(dir, loopback, ['--config', config]);
  try {
    const hints = s.stderr();
    const passwd = /Change it with: npx petrel (account passwd .*?)\s{3}/.exec(hints)?.[1];
    const records = /DNS records to publish: npx petrel (domain records .*)$/m.exec(hints)?.[1];
    assert.equal(passwd, `account passwd admin@hint.test --config ${config}`, hints);
    assert.equal(records, `domain records hint.test --config ${config}`, hints);
    // The administrator's shell is elsewhere (a fresh ./data there would hold no such domain).
    const elsewhere = join(dir, 'admin-shell');
    mkdirSync(elsewhere);
    const r = await petrelIn(elsewhere, records.split(' '));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^hint\.test\.\t3600\tIN\tMX\t10 mail\.hint\.test\.$/m);
    assert.equal(existsSync(join(elsewhere, 'data')), false, 'nothing made where it was run');
  } finally {
    await stopPetrel(s.child);
  }
});

test('queue list, show, retry and delete', async () => {
  assert.match((await petrel(['queue', 'list'])).out, /the queue is empty/);
  const config = defaults();
  config.server.data_dir = join(dir, 'data');
  const app = await openApp(config, silentLogger);
  let id: string;
  try {
    id = await app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@remote.test', orcpt: 'rfc822;bob@remote.test' }, { address: 'carol@remote.test' }],
      raw: Buffer.from('From: alice@example.com\r\nSubject: queued for the CLI\r\n\r\nbody\r\n'),
      envId: 'E1',
    });
    // Pretend an attempt happened an hour ago and the next is far away.
    const [e] = await app.store.queue.lease('test', Date.now(), 60_000, 10);
    await app.store.queue.update(
      'test',
      e.recipients.map((r) => ({
        id: r.id,
        status: 'queued' as const,
        attempts: 1,
        nextAttempt: Date.now() + 3600_000,
        lastAttempt: Date.now(),
        lastReply: '451 4.3.0 try again later',
        lastStatus: '4.3.0',
        remoteMta: 'mx.remote.test',
        warned: false,
      })),
    );
  } finally {
    await app.close();
  }
  const list = await petrel(['queue', 'list']);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, new RegExp(`^${id} +\\d+ bytes +queued .* <alice@example\\.com>$`, 'm'));
  assert.match(
    list.out,
    /^ {4}bob@remote\.test {2}queued {2}attempts=1 {2}next in (59m|1h).* {2}451 4\.3\.0 try again later$/m,
  );
  const show = await petrel(['queue', 'show', id]);
  assert.match(show.out, /ENVID=E1/);
  assert.match(show.out, /ORCPT=rfc822;bob@remote\.test/);
  assert.match(show.out, /^ {4}Subject: queued for the CLI$/m);
  const retry = await petrel(['queue', 'retry', id]);
  assert.match(retry.out, /^2 recipients due now/);
  assert.match((await petrel(['queue', 'list'])).out, /bob@remote\.test {2}queued {2}attempts=1 {2}next [\dms ]+ ago/);
  const del = await petrel(['queue', 'delete', id]);
  assert.equal(del.code, 0);
  assert.match(del.out, /deleted/);
  const gone = await petrel(['queue', 'show', id]);
  assert.equal(gone.code, 1);
  assert.match(gone.err, /no queued message/);
  assert.match((await petrel(['queue', 'list'])).out, /the queue is empty/);
  assert.equal((await petrel(['queue', 'frob'])).code, 2);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A running `petrel serve` relaying to remote.test (a fake MTA on 127.0.0.2 that defers recipients named
 * "held..." while `defer` says so), and the CLI beside it in the same directory: what `fn` is given.
 */
async function withServer(
  backend: 'sqlite' | 'postgres',
  opts: {
    env?: Record<string, string>;
    /** On the data before the server starts (accounts, domains). */
    setup?: (app: App) => Promise<void>;
    /** On the data once the server has stopped. */
    inspect?: (app: App) => Promise<void>;
  },
  fn: (w: {
    cli: (args: string[]) => ReturnType<typeof petrelIn>;
    mta: FakeMta;
    setDefer: (on: boolean) => void;
    /** While on, the remote server never answers the end of a message (a delivery under way). */
    setHolding: (on: boolean) => void;
    /** While on, the remote server defers every message but a DSN at its end (451). */
    setDeferData: (on: boolean) => void;
    send: (from: string, to: string | string[], id: string) => Promise<string>;
    rcpts: (to: string) => number;
    received: (id: string) => number;
    proc: () => PetrelProcess;
  }) => Promise<void>,
) {
  const home = mkdtempSync(join(tmpdir(), 'petrel-qcli-serve-'));
  const schema = backend === 'postgres' ? await freshPgSchema(pgTestUrl()!) : null;
  const dns = await startDnsServer({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'elsewhere.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
  });
  const port = await commonPort(['127.0.0.2']);
  let defer = true;
  let holding = false;
  let deferData = false;
  const mta = await startFakeMta({
    host: '127.0.0.2',
    port,
    hold: () => holding,
    // deferData: every message but a DSN (a null sender) is deferred at its end.
    script: (c, session) =>
      (c === '.' && deferData && !/^MAIL FROM:<>/i.test(session.commands.findLast((x) => /^MAIL /i.test(x)) ?? '')) ||
      (defer && /^RCPT TO:<held/i.test(c))
        ? '451 4.3.0 try again later'
        : undefined,
  });
  const env: Record<string, string> = {
    ...outboundEnv({ dns: dns.address, port, spam: false, pgUrl: schema?.url }),
    ...opts.env,
  };
  let p: PetrelProcess | null = null;
  try {
    if (opts.setup) {
      const app = await openStoppedPetrel(home, env);
      try {
        await opts.setup(app);
      } finally {
        await app.close();
      }
    }
    p = await startPetrel(home, env);
    const smtp = p.ports.smtp;
    await fn({
      cli: (args) => petrelIn(home, args, env),
      mta,
      setDefer: (on) => {
        defer = on;
      },
      setHolding: (on) => {
        holding = on;
      },
      setDeferData: (on) => {
        deferData = on;
      },
      async send(from, to, id) {
        const c = await RawSmtp.open(smtp);
        try {
          await c.expect(220);
          await c.expect(250, 'EHLO client.test');
          await c.expect(250, `MAIL FROM:<${from}>`);
          for (const rcpt of [to].flat()) await c.expect(250, `RCPT TO:<${rcpt}>`);
          await c.expect(354, 'DATA');
          const r = await c.expect(250, `From: <${from}>\r\nSubject: ${id}\r\nMessage-ID: <${id}>\r\n\r\n${id}\r\n.`);
          return /queued as (\S+)/.exec(r.raw)![1];
        } finally {
          c.close();
        }
      },
      rcpts: (to) =>
        mta.sessions.flatMap((x) => x.commands).filter((x) => x.toLowerCase() === `rcpt to:<${to}>`).length,
      received: (id) => mta.received().filter((m) => m.data.toString().includes(`Message-ID: <${id}>`)).length,
      proc: () => p!,
    });
    assert.equal(await stopPetrel(p.child), 0, p.stderr());
    p = null;
    if (opts.inspect) {
      const app = await openStoppedPetrel(home, env);
      try {
        await opts.inspect(app);
      } finally {
        await app.close();
      }
    }
  } finally {
    if (p) await stopPetrel(p.child, 'SIGKILL');
    await mta.stop();
    await dns.stop();
    rmSync(home, { recursive: true, force: true });
    await schema?.drop();
  }
}

/** Waits until the recipient's deferrals at the remote server reach n (each a deferral the queue records). */
const deferrals = (rcpts: (to: string) => number, to: string, n: number) =>
  waitFor(() => rcpts(to) >= n, 15000, `${n} attempts for ${to}`);

// postsuper -h / -H: held mail is never attempted (the runner of a running server skips it: the state is in
// the store, set by another process), shown as held, and released it is due at once.
async function holdAndRelease(backend: 'sqlite' | 'postgres') {
  await withServer(backend, {}, async ({ cli, setDefer, send, rcpts, received }) => {
    const one = await send('alice@elsewhere.test', 'held1@remote.test', 'h1@hold');
    const two = await send('alice@elsewhere.test', 'held2@remote.test', 'h2@hold');
    await deferrals(rcpts, 'held1@remote.test', 1);
    await deferrals(rcpts, 'held2@remote.test', 1);
    const h = await cli(['queue', 'hold', one]);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, new RegExp(`^${one} on hold`));
    const again = await cli(['queue', 'hold', one]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /already on hold/);
    assert.match((await cli(['queue', 'release', two])).out, /was not on hold/);
    const all = await cli(['queue', 'hold', '--all']);
    assert.equal(all.code, 0, all.err);
    assert.match(all.out, /^1 message put on hold/, 'only the one not held yet');
    const list = await cli(['queue', 'list']);
    assert.match(list.out, new RegExp(`^${one} .* <alice@elsewhere\\.test>  on hold$`, 'm'));
    assert.match(
      list.out,
      /^ {4}held1@remote\.test {2}queued {2}attempts=\d+ {2}on hold {2}451 4\.3\.0 try again later$/m,
    );
    assert.match(
      (await cli(['queue', 'show', two])).out,
      /^ {4}held2@remote\.test {2}queued {2}attempts=\d+ {2}on hold/m,
    );
    // An attempt under way when the hold came ends (deferred) within a moment; after that, none.
    await sleep(1000);
    const tried = [rcpts('held1@remote.test'), rcpts('held2@remote.test')];
    // The remote server would take them now; the runner, alive (it delivers another message), leaves them.
    setDefer(false);
    await send('alice@elsewhere.test', 'other@remote.test', 'o1@hold');
    await waitFor(() => received('o1@hold') === 1, 15000, 'the message not held');
    await sleep(2500);
    assert.deepEqual([rcpts('held1@remote.test'), rcpts('held2@remote.test')], tried, 'a held message was attempted');
    const r = await cli(['queue', 'release', one]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^${one} released`));
    await waitFor(() => received('h1@hold') === 1, 15000, 'the released message');
    assert.equal(rcpts('held2@remote.test'), tried[1], 'the other is still held');
    assert.equal((await cli(['queue', 'release', one])).code, 1, 'delivered: no longer queued');
    const ra = await cli(['queue', 'release', '--all']);
    assert.equal(ra.code, 0, ra.err);
    assert.match(ra.out, /^1 message released/);
    await waitFor(() => received('h2@hold') === 1, 15000, 'the second released message');
    await waitFor(async () => /the queue is empty/.test((await cli(['queue', 'list'])).out), 15000, 'an empty queue');
  });
}

test('queue hold and release, beside a running server, SQLite', { timeout: 90000 }, () => holdAndRelease('sqlite'));
test(
  'queue hold and release, beside a running server, PostgreSQL',
  { timeout: 90000, skip: pgTestUrl() ? undefined : PG_SKIP_REASON },
  () => holdAndRelease('postgres'),
);

// Postfix: "while mail is on hold it will not expire when its time in the queue exceeds the
// maximal_queue_lifetime"; it becomes subject to expiration, counted from its arrival, once released.
test('held mail does not expire while held; released after its lifetime, it bounces at its next deferral', {
  timeout: 90000,
}, async () => {
  // The lifetime leaves room for the hold: each CLI command is a process of its own (about 2 s to open the
  // store on a quiet machine, more on a loaded one), and a message past its lifetime at a deferral bounces.
  const lifetimeMs = 12_000;
  await withServer(
    'sqlite',
    { env: { PETREL_QUEUE_LIFETIME: `${lifetimeMs}ms` } },
    async ({ cli, send, rcpts, mta }) => {
      const sent = Date.now();
      const id = await send('alice@elsewhere.test', 'held@remote.test', 'x1@hold');
      await deferrals(rcpts, 'held@remote.test', 1);
      const hold = await cli(['queue', 'hold', id]);
      assert.equal(hold.code, 0, hold.err);
      await sleep(1000);
      const tried = rcpts('held@remote.test');
      await sleep(Math.max(0, sent + lifetimeMs + 500 - Date.now()));
      // Past its lifetime: still queued, never attempted, no DSN.
      assert.match((await cli(['queue', 'show', id])).out, /^ {4}held@remote\.test {2}queued .* {2}on hold/m);
      assert.equal(rcpts('held@remote.test'), tried);
      assert.equal(mta.received().filter((m) => m.from === '').length, 0);
      assert.equal((await cli(['queue', 'release', id])).code, 0);
      const dsn = await waitFor(() => mta.received().find((m) => m.from === ''), 15000, 'the DSN');
      assert.equal(rcpts('held@remote.test'), tried + 1, 'one more attempt, deferred, then given up');
      assert.deepEqual(dsn.rcpts, ['alice@elsewhere.test']);
      assert.match(dsn.data.toString(), /^Action: failed\r\nStatus: 4\.3\.0$/m);
      assert.match((await cli(['queue', 'show', id])).err, /no queued message/);
    },
  );
});

// Bounce by hand (Postfix 3.5+: postsuper -e/-f, "administratively expired"): every recipient not yet done
// fails now, the sender gets one DSN for them (5.0.0, the last reply kept), the message is gone. A message
// under way is refused (it may be taken right now) until that attempt ends.
async function bounceByHand(backend: 'sqlite' | 'postgres') {
  let localDsn = '';
  await withServer(
    backend,
    {
      // A delivery under way lasts until the server drops it (mta.cut) or 60 s: longer than a CLI start on a
      // loaded machine (with 3 s the attempt had sometimes ended before the bounce that must find it).
      env: { PETREL_QUEUE_COMMAND_TIMEOUT_MS: '60000', PETREL_QUEUE_DATA_DONE_TIMEOUT_MS: '60000' },
      async setup(app) {
        await app.directory.addDomain('localhost');
        await app.directory.addAccount('sender@localhost', 'sender-pw');
      },
      async inspect(app) {
        const inbox = (await inboxOf(app, 'sender@localhost')).map((b) => b.toString());
        assert.equal(inbox.length, 1, 'one DSN to the local sender');
        localDsn = inbox[0];
      },
    },
    async ({ cli, send, rcpts, received, mta, setHolding, setDeferData }) => {
      const dsns = () => mta.received().filter((m) => m.from === '');
      // Remote sender; one recipient taken, one deferred: the DSN names the deferred one only.
      const id = await send('alice@elsewhere.test', ['taken@remote.test', 'held1@remote.test'], 'b1@bounce');
      await waitFor(() => received('b1@bounce') === 1, 15000, 'the recipient the server takes');
      await deferrals(rcpts, 'held1@remote.test', 1);
      await cli(['queue', 'hold', id]);
      const b = await cli(['queue', 'bounce', id]);
      assert.equal(b.code, 0, b.err);
      assert.match(b.out, new RegExp(`^${id} returned to its sender: 1 recipient failed, DSN queued`));
      const dsn = await waitFor(() => dsns()[0], 15000, 'the DSN');
      assert.deepEqual(dsn.rcpts, ['alice@elsewhere.test']);
      const text = dsn.data.toString();
      assert.match(text, /^Final-Recipient: rfc822; held1@remote\.test\r\nAction: failed\r\nStatus: 5\.0\.0\r\n/m);
      assert.match(
        text,
        /^Diagnostic-Code: X-Petrel; bounced by the administrator \(last attempt: 451 4\.3\.0 try again later\)\r$/m,
      );
      assert.doesNotMatch(text, /Final-Recipient: rfc822; taken@/);
      assert.match(text, /^Message-ID: <b1@bounce>/m);
      const gone = await cli(['queue', 'show', id]);
      assert.equal(gone.code, 1);
      // Local sender: the DSN goes to the mailbox (inspected once the server stopped).
      const local = await send('sender@localhost', 'held2@remote.test', 'b2@bounce');
      await deferrals(rcpts, 'held2@remote.test', 1);
      // Held, so no new attempt starts; one that began meanwhile (retries come each second) refuses the
      // bounce until it ends, as below.
      await cli(['queue', 'hold', local]);
      let lb = await cli(['queue', 'bounce', local]);
      for (let i = 0; i < 50 && lb.code === 1 && /being delivered now/.test(lb.err); i++) {
        await new Promise((r) => setTimeout(r, 200));
        lb = await cli(['queue', 'bounce', local]);
      }
      assert.equal(lb.code, 0, lb.err);
      assert.match(lb.out, /1 recipient failed, DSN delivered to the sender's mailbox/);
      // Under way: refused with one line, exit 1; once that attempt has ended, bounced.
      setHolding(true);
      const busy = await send('alice@elsewhere.test', 'slow@remote.test', 'b3@bounce');
      await waitFor(() => rcpts('slow@remote.test') === 1, 15000, 'the attempt under way');
      const r = await cli(['queue', 'bounce', busy]);
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, new RegExp(`^petrel queue: ${busy} is being delivered now .*\n$`));
      // That attempt ends (the server drops the session); the next ones are deferred at once.
      setDeferData(true);
      setHolding(false);
      mta.cut();
      await waitFor(
        async () => (await cli(['queue', 'bounce', busy])).code === 0,
        30000,
        'the bounce after the attempt',
      );
      await waitFor(() => dsns().length === 2, 15000, 'the second DSN');
      await sleep(1000);
      assert.equal(dsns().length, 2, 'one DSN per bounce');
      assert.match((await cli(['queue', 'list'])).out, /the queue is empty/);
    },
  );
  assert.match(localDsn, /^Final-Recipient: rfc822; held2@remote\.test\r\nAction: failed\r\nStatus: 5\.0\.0\r\n/m);
  assert.match(localDsn, /^Message-ID: <b2@bounce>/m);
}

test('queue bounce, beside a running server, SQLite', { timeout: 120000 }, () => bounceByHand('sqlite'));
test(
  'queue bounce, beside a running server, PostgreSQL',
  { timeout: 120000, skip: pgTestUrl() ? undefined : PG_SKIP_REASON },
  () => bounceByHand('postgres'),
);

test('queue hold, release, retry, bounce: an unknown id exits 1, wrong usage 2, each with one line', async () => {
  await petrel(['queue', 'list']); // the first use of the directory prints what it made
  for (const sub of ['hold', 'release', 'retry', 'bounce', 'show', 'delete']) {
    const r = await petrel(['queue', sub, 'NOSUCHID']);
    assert.equal(r.code, 1, `${sub}: ${r.err}`);
    assert.equal(r.err, 'petrel queue: no queued message NOSUCHID\n', sub);
  }
  for (const args of [
    ['queue', 'hold'],
    ['queue', 'release'],
    ['queue', 'bounce'],
    ['queue', 'bounce', '--all'],
    ['queue', 'hold', 'X', '--all'],
    ['queue', 'release', 'X', '--all'],
    ['queue', 'retry', 'X', '--all'],
    ['queue', 'hold', 'X', 'Y'],
  ]) {
    const r = await petrel(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.err.trimEnd().split('\n').length, 1, `${args.join(' ')}: ${r.err}`);
  }
  const help = await petrel(['queue', '--help']);
  for (const sub of ['hold ID|--all', 'release ID|--all', 'bounce ID'])
    assert.match(help.out, new RegExp(`petrel queue ${sub.replace('|', '\\|')}`));
});
