// The `petrel` command on a first day: mistyped commands and options, stray arguments, and a data
// directory or database it cannot use, each answered in one line (exit 2 for usage, 1 for the rest).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { ACCEPTS } from '../../src/cli/usage.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';

const run = promisify(execFile);
const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-cli-usage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command in a fresh directory of its own (no petrel.toml, no data) unless given one. */
async function petrel(
  args: string[],
  env: Record<string, string> = {},
  cwd = mkdtempSync(join(dir, 'run-')),
  prefix: string[] = [],
) {
  try {
    const [cmd, ...rest] = [...prefix, process.execPath, BIN, ...args];
    const r = await run(cmd, rest, { cwd, env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, out: r.stdout, err: r.stderr, cwd };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr, cwd };
  }
}

const NO_TRACE = /unexpected error|\n\s+at /;

test('a mistyped option is refused, with the nearest one, before anything is opened or changed', async () => {
  // Taken as an unknown option, --pasword once made the account with a generated password instead.
  const add = await petrel(['account', 'add', 'bob@localhost', '--pasword', 'secret']);
  assert.equal(add.code, 2, add.out + add.err);
  assert.match(add.err, /^petrel account: unknown option --pasword \(did you mean "--password"\?\)$/m);
  assert.equal(existsSync(join(add.cwd, 'data')), false, 'no data directory made, no account added');
  // An option of another subcommand: --domain filters `account list`, it is nothing to `account add`.
  const other = await petrel(['account', 'add', 'bob@localhost', '--domain', 'localhost']);
  assert.equal(other.code, 2);
  assert.match(other.err, /unknown option --domain/);
  // Once it listed every account, unfiltered.
  const list = await petrel(['account', 'list', '--domian', 'localhost']);
  assert.equal(list.code, 2);
  assert.match(list.err, /unknown option --domian \(did you mean "--domain"\?\)/);
  assert.equal(list.out, '');
  const serve = await petrel(['serve', '--port', '25']);
  assert.equal(serve.code, 2, serve.err);
  assert.match(serve.err, /^petrel serve: unknown option --port$/m);
  assert.doesNotMatch(add.err + list.err + serve.err, NO_TRACE);
});

test('a stray argument is refused: "--quota 10 MB" does not make a 10-octet quota', async () => {
  const r = await petrel(['account', 'add', 'carol@localhost', '--password', 'pw', '--quota', '10', 'MB']);
  assert.equal(r.code, 2, r.out + r.err);
  assert.match(r.err, /^petrel account: unexpected argument "MB"/m);
  assert.equal(existsSync(join(r.cwd, 'data')), false);
  const check = await petrel(['config', 'check', 'petrel.toml']);
  assert.equal(check.code, 2, 'config check reads --config, not an argument');
  assert.match(check.err, /unexpected argument "petrel\.toml"/);
});

test('--config without a file is a usage error, not a check of the defaults', async () => {
  const r = await petrel(['config', 'check', '--config']);
  assert.equal(r.code, 2, r.out + r.err);
  assert.match(r.err, /--config needs a value/);
  assert.doesNotMatch(r.out, /configuration is valid/);
});

test('a mistyped command gets the nearest command', async () => {
  const r = await petrel(['acount', 'list']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^petrel: unknown command "acount" \(did you mean "account"\?\)/m);
});

test('sizes in binary units: --quota 1GiB, 512MiB and 10 MB are what they say', async () => {
  const cwd = mkdtempSync(join(dir, 'sizes-'));
  for (const [who, quota] of [
    ['a', '1GiB'],
    ['b', '512MiB'],
    ['c', '10 MB'],
  ]) {
    const r = await petrel(['account', 'add', `${who}@localhost`, '--password', 'pw', '--quota', quota], {}, cwd);
    assert.equal(r.code, 0, r.err);
  }
  const list = await petrel(['account', 'list'], {}, cwd);
  assert.match(list.out, /^a@localhost\tuser\tused=0\/1073741824\t/m);
  assert.match(list.out, /^b@localhost\tuser\tused=0\/536870912\t/m);
  assert.match(list.out, /^c@localhost\tuser\tused=0\/10485760\t/m);
});

test('a data directory that cannot be made is named in one line', async () => {
  const cwd = mkdtempSync(join(dir, 'datadir-'));
  writeFileSync(join(cwd, 'afile'), '');
  for (const [dataDir, why] of [
    ['afile', /is not a directory/],
    ['afile/data', /not a directory/],
  ] as const) {
    // config check finds it too, without making anything.
    for (const cmd of [['domain', 'list'], ['serve'], ['config', 'check']]) {
      const r = await petrel(cmd, { PETREL_SERVER_DATA_DIR: dataDir, PETREL_LISTENERS_SMTP_PORT: '0' }, cwd);
      assert.equal(r.code, 1, r.err);
      const prefix = cmd[0] === 'config' ? '' : `petrel ${cmd[0]}: `;
      assert.match(r.err, new RegExp(`^${prefix}server\\.data_dir: .*afile`, 'm'));
      assert.match(r.err, why);
      assert.doesNotMatch(r.err, NO_TRACE);
    }
  }
});

test('a data directory this user cannot write to (made by an earlier run as root) is named in one line', async () => {
  // As root every directory is writable: the command then runs as nobody, as an ordinary user would.
  const root = process.getuid?.() === 0;
  const cwd = mkdtempSync(join(dir, 'foreign-'));
  mkdirSync(join(cwd, 'data'));
  chmodSync(join(cwd, 'data'), 0o555);
  for (const d of [dir, cwd]) if (root) chmodSync(d, 0o755);
  const as = root ? ['runuser', '-u', 'nobody', '--'] : [];
  const r = await petrel(['domain', 'list'], {}, cwd, as);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^petrel domain: server\.data_dir: .*\/data is not writable by this user \(uid \d+\)/m);
  assert.doesNotMatch(r.err, NO_TRACE);
  // config check says so too, and serve before it opens anything.
  const check = await petrel(['config', 'check'], {}, cwd, as);
  assert.equal(check.code, 1, check.out);
  assert.match(check.err, /^server\.data_dir: .*\/data is not writable by this user/m);
  const serve = await petrel(['serve'], {}, cwd, as);
  assert.equal(serve.code, 1);
  assert.match(serve.err, /^petrel serve: server\.data_dir: .*\/data is not writable by this user/m);
});

test('the postgres backend without a URL, or with a server that does not answer: one line, no password', async () => {
  const none = await petrel(['config', 'check'], { PETREL_STORE_BACKEND: 'postgres' });
  assert.equal(none.code, 1, none.out + none.err);
  assert.match(none.err, /store\.postgres_url: empty, but store\.backend is "postgres"/);
  const open = await petrel(['domain', 'list'], { PETREL_STORE_BACKEND: 'postgres' });
  assert.equal(open.code, 1);
  assert.match(open.err, /store\.postgres_url: empty/);
  assert.doesNotMatch(open.err, NO_TRACE);
  // Port 1 of loopback: nothing listens there, the connection is refused at once.
  const env = {
    PETREL_STORE_BACKEND: 'postgres',
    PETREL_STORE_POSTGRES_URL: 'postgres://petrel:s3cret@127.0.0.1:1/mail',
  };
  const down = await petrel(['domain', 'list'], env);
  assert.equal(down.code, 1, down.err);
  assert.match(
    down.err,
    /^petrel domain: store\.postgres_url: cannot connect to PostgreSQL at 127\.0\.0\.1:1: .*ECONNREFUSED/m,
  );
  assert.doesNotMatch(down.err, /s3cret/);
  assert.doesNotMatch(down.err, NO_TRACE);
});

test('a database without pg_trgm whose user may not create it: one line saying what to run', {
  skip: pgTestUrl() ? false : PG_SKIP_REASON,
}, async () => {
  // A fresh database owned by the superuser and a role that may create tables but not extensions: the
  // first migration's CREATE EXTENSION pg_trgm fails, which once ended in a stack trace.
  const admin = pgTestUrl()!;
  const name = `petrel_noext_${process.pid}_${Date.now()}`;
  const su = new pg.Client({ connectionString: admin });
  await su.connect();
  try {
    await su.query(`CREATE ROLE ${name} LOGIN`);
    await su.query(`CREATE DATABASE ${name}`);
    const inDb = new URL(admin);
    inDb.pathname = `/${name}`;
    const c = new pg.Client({ connectionString: inDb.toString() });
    await c.connect();
    await c.query(`GRANT ALL ON SCHEMA public TO ${name}`);
    await c.end();
    const u = new URL(admin);
    u.username = name;
    u.password = '';
    u.pathname = `/${name}`;
    const env = { PETREL_STORE_BACKEND: 'postgres', PETREL_STORE_POSTGRES_URL: u.toString() };
    const r = await petrel(['domain', 'list'], env);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^petrel domain: store\.postgres_url: .*pg_trgm.*CREATE EXTENSION pg_trgm/m);
    assert.doesNotMatch(r.err, NO_TRACE);
    const serve = await petrel(['serve'], env);
    assert.equal(serve.code, 1, serve.err);
    assert.match(serve.err, /^petrel serve: store\.postgres_url: .*CREATE EXTENSION pg_trgm/m);
    assert.doesNotMatch(serve.err, NO_TRACE);
  } finally {
    await su.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await su.query(`DROP ROLE IF EXISTS ${name}`);
    await su.end();
  }
});

test('a key in the wrong table, or above every table, is named with the table it belongs in', async () => {
  const cwd = mkdtempSync(join(dir, 'misplaced-'));
  writeFileSync(
    join(cwd, 'petrel.toml'),
    [
      'hostname = "mx.example.com"',
      '[server]',
      'data_dir = "./data"',
      'shutdown_grace = 5',
      '[listeners.smtp]',
      'max_message_size = 1',
      '',
    ].join('\n'),
  );
  const r = await petrel(['config', 'check'], {}, cwd);
  assert.equal(r.code, 1, r.out + r.err);
  // Before: "unknown key "hostname"" alone: the admin was not told that it goes under [server].
  assert.match(r.err, /petrel\.toml:1: unknown key "hostname" \(a key of \[server\], \[client_setup\]\)/);
  assert.match(r.err, /:6: unknown key "listeners\.smtp\.max_message_size" \(a key of \[smtp\], \[imap\]\)/);
  // A near name in the same table still comes first.
  assert.match(r.err, /:4: unknown key "server\.shutdown_grace" \(did you mean "shutdown_grace_ms"\?\)/);
});

test('the config init writes points at README sections that exist', async () => {
  const cwd = mkdtempSync(join(dir, 'init-'));
  const r = await petrel(['init', '--domain', 'example.com', '--hostname', 'mail.example.com'], {}, cwd);
  assert.equal(r.code, 0, r.err);
  const text = readFileSync(join(cwd, 'petrel.toml'), 'utf8');
  const headings = new Set(
    readFileSync('README.md', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .map((l) => l.replace(/^#+\s*/, '')),
  );
  const cited = [...text.matchAll(/see README, "([^"]+)"/g)].map((m) => m[1]);
  assert.ok(cited.length > 0, 'init cites the README');
  assert.deepEqual(
    cited.filter((c) => !headings.has(c)),
    [],
  );
});

test("COMMAND [SUBCOMMAND] --help shows that command's usage; a mistyped one is the unknown-command error", async () => {
  const account = await petrel(['account', '--help']);
  assert.equal(account.code, 0, account.err);
  // Every account subcommand, each with its options and a description, and nothing of other commands.
  for (const sub of ['add', 'list', 'passwd', 'remove', '2fa'])
    assert.match(account.out, new RegExp(`^ {2}petrel account ${sub}\\b`, 'm'), account.out);
  assert.match(account.out, /petrel account add ADDRESS .*--quota SIZE/);
  assert.doesNotMatch(account.out, /petrel (spam|queue|domain) /);
  // Each account subcommand once (its usage line, its description under it), nothing more: the table's
  // account entries and the two lines around them.
  const lines = account.out.trim().split('\n');
  const subs = Object.keys(ACCEPTS).filter((k) => k.startsWith('account '));
  assert.equal(lines.filter((l) => l.startsWith('  petrel ')).length, subs.length, account.out);
  assert.equal(lines.length, 2 * subs.length + 3, account.out);
  const train = await petrel(['spam', 'train', '--help']);
  assert.equal(train.code, 0, train.err);
  assert.match(train.out, /^ {2}petrel spam train \[--spam DIR\] \[--ham DIR\] \[--account ADDRESS\]$/m);
  assert.match(train.out, /Bayes/, 'with its description');
  assert.doesNotMatch(train.out, /spam check/);
  // `help COMMAND` is the same thing.
  const viaHelp = await petrel(['help', 'spam', 'train']);
  assert.equal(viaHelp.code, 0);
  assert.equal(viaHelp.out, train.out);
  const serve = await petrel(['serve', '--help']);
  assert.equal(serve.code, 0);
  assert.match(serve.out, /^ {2}petrel serve$/m);
  // Nothing was opened or made by asking for help.
  assert.equal(existsSync(join(serve.cwd, 'data')), false);
  const typo = await petrel(['serv', '--help']);
  assert.equal(typo.code, 2, typo.out);
  assert.match(typo.err, /^petrel: unknown command "serv" \(did you mean "serve"\?\)/m);
  const sub = await petrel(['account', 'ad', '--help']);
  assert.equal(sub.code, 2, sub.out);
  assert.match(sub.err, /unknown account subcommand "ad" \(did you mean "add"\?\)/);
  // The general help still lists every command.
  const all = await petrel(['--help']);
  assert.equal(all.code, 0);
  for (const c of ['serve', 'init', 'account add', 'spam settings', 'config check'])
    assert.match(all.out, new RegExp(`^ {2}${c}\\b`, 'm'), c);
});

test("README's `petrel` section shows every subcommand the help lists", () => {
  // `account quota` once existed in neither; the README's list is what admins read first.
  const readme = readFileSync('README.md', 'utf8');
  const block = readme.split('## The `petrel` command')[1].split('```sh')[1].split('```')[0];
  // One shown command per line, or several joined by " ; "; alternatives as "list | remove X".
  const shown = block
    .split('\n')
    .flatMap((l) => l.split('#')[0].split(' ; '))
    .map((l) => l.trim())
    .filter((l) => l.startsWith('npx petrel '));
  const missing = Object.keys(ACCEPTS).filter((key) => {
    const [cmd, sub] = key.split(' ');
    if (cmd === 'serve') return false; // `npm start`, in the quick start
    const ofCmd = shown.filter((l) => l === `npx petrel ${cmd}` || l.startsWith(`npx petrel ${cmd} `));
    if (sub === undefined) return ofCmd.length === 0;
    return !ofCmd.some((l) => new RegExp(`(^npx petrel ${cmd} |\\| ?)${sub}\\b`).test(l));
  });
  assert.deepEqual(missing, []);
});
