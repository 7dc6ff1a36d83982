// Two `petrel serve` processes on one PostgreSQL (PETREL_TEST_PG_URL) and the `petrel` command as a third
// process: an account removed, disabled or given a new password by the CLI ends its open IMAP, POP3 and SMTP
// submission sessions on both nodes (as `doveadm kick` does), through the nodes' notifications.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { RawImap } from '../helpers/imap-client.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { appendCmd, msg } from '../imap/fixture.ts';
import { type Cluster, startCluster } from './cluster.ts';

const run = promisify(execFile);
const BIN = resolve('bin/petrel.js');
const url = pgTestUrl();
const PASSWORD = 'secret';
let cl: Cluster;
const cliDir = mkdtempSync(join(tmpdir(), 'petrel-cli-'));
const clients: { close(): void }[] = [];

before(async () => {
  if (!url) return;
  cl = await startCluster(url, 2, {
    seed: async (app) => {
      await app.directory.addDomain('example.com');
      for (const u of ['rotated', 'disabled', 'removed', 'bystander'])
        await app.directory.addAccount(`${u}@example.com`, PASSWORD);
    },
  });
});
after(async () => {
  for (const c of clients) c.close();
  await cl?.stop();
  rmSync(cliDir, { recursive: true, force: true });
});

/** `petrel ARGS` as an administrator runs it, on the cluster's store. */
async function petrel(...args: string[]): Promise<string> {
  const env = {
    ...process.env,
    PETREL_STORE_BACKEND: 'postgres',
    PETREL_STORE_POSTGRES_URL: cl.url,
    PETREL_BLOBS_BACKEND: 'database',
  };
  const r = await run(process.execPath, [BIN, ...args], { cwd: cliDir, env });
  return r.stdout;
}

async function imap(node: number, user: string, password = PASSWORD): Promise<RawImap> {
  const { c } = await RawImap.open(cl.nodes[node].ports.imap);
  clients.push(c);
  assert.match((await c.cmd(`LOGIN ${user}@example.com ${password}`)).tagged, /OK/);
  return c;
}

async function pop3(node: number, user: string, password = PASSWORD): Promise<Pop3Client> {
  const c = await Pop3Client.open(cl.nodes[node].ports.pop3);
  clients.push({ close: () => c.destroy() });
  assert.match(await c.cmd(`USER ${user}@example.com`), /^\+OK/);
  assert.match(await c.cmd(`PASS ${password}`), /^\+OK Logged in/);
  return c;
}

/** A submission session signed in with AUTH PLAIN (RFC 4954). */
async function submission(node: number, user: string): Promise<RawSmtp> {
  const c = await RawSmtp.open(cl.nodes[node].ports.submission);
  clients.push(c);
  await c.expect(220);
  await c.expect(250, 'EHLO client.test');
  await c.expect(235, `AUTH PLAIN ${Buffer.from(`\0${user}@example.com\0${PASSWORD}`).toString('base64')}`);
  return c;
}

/** RFC 5321 section 3.8: 421 4.7.0 matching `re`, unasked, then the server closes the connection. */
async function smtpEnded(c: RawSmtp, re: RegExp): Promise<void> {
  const r = await c.read(20000);
  assert.match(r.raw, /^421 4\.7\.0 /);
  assert.match(r.raw, re);
  await c.closedByServer(10000);
}

/** The next line is `* BYE` matching `re`, then the server closes the connection. */
async function byeThenClosed(c: RawImap, re: RegExp): Promise<void> {
  assert.match(await c.line(20000), re);
  const deadline = Date.now() + 10000;
  while (!c.closed) {
    assert.ok(Date.now() < deadline, 'the connection was not closed');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const skip = url ? undefined : PG_SKIP_REASON;

describe('account changes made by the CLI end sessions on every node', { skip }, () => {
  test('account passwd: password sessions on both nodes end (IMAP BYE [EXPIRED], POP3 -ERR [AUTH], no UPDATE)', async () => {
    const setup = await imap(0, 'rotated');
    assert.match((await setup.cmd(appendCmd('INBOX', msg('keep me')))).tagged, /OK/);
    const a = await imap(0, 'rotated');
    assert.match((await a.cmd('SELECT INBOX')).tagged, /OK/);
    a.send('i IDLE\r\n');
    assert.equal(await a.line(), '+ idling');
    const b = await imap(1, 'rotated');
    const p = await pop3(1, 'rotated');
    assert.equal(await p.cmd('DELE 1'), '+OK Message 1 deleted');
    const other = await imap(1, 'bystander');
    const submitting = await submission(0, 'rotated');
    const submittingElsewhere = await submission(1, 'rotated');

    assert.match(await petrel('account', 'passwd', 'rotated@example.com', '--password', 'new-secret'), /changed/);
    await byeThenClosed(a, /^\* BYE \[EXPIRED\] /);
    await byeThenClosed(b, /^\* BYE \[EXPIRED\] /);
    await byeThenClosed(setup, /^\* BYE \[EXPIRED\] /);
    assert.match(await p.line(), /^-ERR \[AUTH\] /);
    await p.closed();
    await smtpEnded(submitting, /changed or revoked/);
    await smtpEnded(submittingElsewhere, /changed or revoked/);
    assert.match((await other.cmd('NOOP')).tagged, /OK/, "another account's session goes on");

    // The DELE was not applied; the maildrop is free at once on either node.
    const again = await pop3(0, 'rotated', 'new-secret');
    assert.match(await again.cmd('STAT'), /^\+OK 1 /);
    assert.match(await again.cmd('QUIT'), /^\+OK/);
  });

  test('account disable, then account remove: the sessions on both nodes end with BYE [CONTACTADMIN]', async () => {
    for (const [user, args] of [
      ['disabled', ['account', 'disable', 'disabled@example.com']],
      ['removed', ['account', 'remove', 'removed@example.com']],
    ] as const) {
      const a = await imap(0, user);
      assert.match((await a.cmd('SELECT INBOX')).tagged, /OK/);
      const b = await imap(1, user);
      const p = await pop3(0, user);
      const sub = await submission(1, user);
      await petrel(...args);
      await byeThenClosed(a, /^\* BYE \[CONTACTADMIN\] /);
      await byeThenClosed(b, /^\* BYE \[CONTACTADMIN\] /);
      assert.match(await p.line(), /^-ERR \[AUTH\] /);
      await p.closed();
      await smtpEnded(sub, /removed or disabled/);
    }
    // Enabled again: it signs in as before.
    await petrel('account', 'enable', 'disabled@example.com');
    const c = await imap(1, 'disabled');
    assert.match((await c.cmd('NOOP')).tagged, /OK/);
  });
});
