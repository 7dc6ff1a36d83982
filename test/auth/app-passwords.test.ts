// App passwords and the two-factor rule over the wire: with 2FA on, the account password no longer opens
// IMAP/SMTP/POP3 (nor SCRAM, which is derived from it); app passwords do, within their protocols; a
// revoked one fails at once. App passwords are made and revoked with the real `petrel` CLI.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { lenientSignIn, startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'carol@localhost';
const PASS = 'carol account password';
let t: TestServer;
let id = 0;
const python = peer('python3', 'python3');
const PETREL = new URL('../../bin/petrel.js', import.meta.url).pathname;

before(async () => {
  t = await startTestServer({ configure: lenientSignIn });
  await t.app.directory.addDomain('localhost');
  id = (await t.app.directory.addAccount(USER, PASS)).id;
});
after(() => t.stop());

/** The `petrel` CLI on the test server's data directory (SQLite shared with the running server). */
async function petrel(...args: string[]) {
  const r = await run(process.execPath, [PETREL, ...args], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: t.dataDir },
    timeoutMs: 30000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** Tries a password on IMAP (LOGIN), SMTP (AUTH PLAIN) and POP3 (USER/PASS): 'ok' or 'no' for each. */
async function tryAll(password: string): Promise<Record<'imap' | 'smtp' | 'pop3', string>> {
  const code = `
import imaplib, smtplib, poplib, sys, json
user, pw = sys.argv[1], sys.argv[2]
r = {}
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[3]))
try: m.login(user, pw); r['imap'] = 'ok'
except imaplib.IMAP4.error: r['imap'] = 'no'
m.logout()
s = smtplib.SMTP('127.0.0.1', int(sys.argv[4])); s.ehlo('t')
try: s.login(user, pw); r['smtp'] = 'ok'
except smtplib.SMTPAuthenticationError: r['smtp'] = 'no'
s.quit()
p = poplib.POP3('127.0.0.1', int(sys.argv[5]))
try: p.user(user); p.pass_(pw); r['pop3'] = 'ok'
except poplib.error_proto: r['pop3'] = 'no'
p.quit()
print(json.dumps(r))
`;
  const r = await run('python3', [
    '-c',
    code,
    USER,
    password,
    String(t.ports.imap),
    String(t.ports.submission),
    String(t.ports.pop3),
  ]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('2FA off: the account password works; 2FA on: only app passwords, within their protocols; revocation is immediate', {
  skip: python.skip,
}, async () => {
  assert.deepEqual(await tryAll(PASS), { imap: 'ok', smtp: 'ok', pop3: 'ok' });

  const phone = /app password (\d+) for carol@localhost: ([a-z0-9-]+)/.exec(
    await petrel('app-password', 'add', USER, '--name', 'phone', '--protocols', 'imap'),
  );
  const laptop = /app password (\d+) for carol@localhost: ([a-z0-9-]+)/.exec(
    await petrel('app-password', 'add', USER, '--name', 'laptop'),
  );
  assert.ok(phone && laptop);
  const listed = await petrel('app-password', 'list', USER);
  assert.match(listed, /\tphone\timap\t/);
  assert.match(listed, /\tlaptop\tall\t/);
  assert.ok(!listed.includes(phone[2]), 'the secret is never shown again');

  await t.app.store.auth.setTotp(id, { secret: 'JBSWY3DPEHPK3PXP', enabled: true, recoveryCodes: [] });
  assert.deepEqual(await tryAll(PASS), { imap: 'no', smtp: 'no', pop3: 'no' }, 'account password refused with 2FA on');
  assert.deepEqual(await tryAll(phone[2]), { imap: 'ok', smtp: 'no', pop3: 'no' }, 'limited to IMAP');
  assert.deepEqual(await tryAll(laptop[2]), { imap: 'ok', smtp: 'ok', pop3: 'ok' });
  assert.match(await petrel('app-password', 'list', USER), /\tlaptop\tall\tcreated=\S+\tlast-used=20/);

  await petrel('app-password', 'revoke', USER, laptop[1]);
  assert.deepEqual(await tryAll(laptop[2]), { imap: 'no', smtp: 'no', pop3: 'no' }, 'revoked: refused at once');
  assert.deepEqual(await tryAll(phone[2]), { imap: 'ok', smtp: 'no', pop3: 'no' }, 'the other one still works');

  await t.app.store.auth.setTotp(id, { secret: null, enabled: false, recoveryCodes: [] });
  assert.deepEqual(await tryAll(PASS), { imap: 'ok', smtp: 'ok', pop3: 'ok' }, '2FA off again');
});

test('SCRAM-SHA-256 is refused while 2FA is on (it is derived from the account password)', async () => {
  const { LineClient } = await import('./line-client.ts');
  await t.app.store.auth.setTotp(id, { secret: 'JBSWY3DPEHPK3PXP', enabled: true, recoveryCodes: [] });
  try {
    const c = await LineClient.open(t.ports.imap);
    await c.line();
    c.send(`a AUTHENTICATE SCRAM-SHA-256 ${Buffer.from(`n,,n=${USER},r=abcdefghijklmnop`).toString('base64')}`);
    const first = await c.line();
    assert.match(first!, /^\+ /, 'a normal-looking exchange: no hint that 2FA is on');
    c.send(
      Buffer.from(
        `c=biws,r=${Buffer.from(first!.slice(2), 'base64').toString().split(',')[0].slice(2)},p=${Buffer.alloc(32).toString('base64')}`,
      ).toString('base64'),
    );
    assert.match((await c.line())!, /^a NO \[AUTHENTICATIONFAILED\]/);
    c.close();
  } finally {
    await t.app.store.auth.setTotp(id, { secret: null, enabled: false, recoveryCodes: [] });
  }
});

test('app-password CLI errors: unknown protocol, unknown id, missing name', async () => {
  const bad = await run(process.execPath, [PETREL, 'app-password', 'add', USER, '--name', 'x', '--protocols', 'ftp'], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: t.dataDir },
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown protocol ftp/);
  const missing = await run(process.execPath, [PETREL, 'app-password', 'revoke', USER, '999'], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: t.dataDir },
  });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no app password 999/);
  const noName = await run(process.execPath, [PETREL, 'app-password', 'add', USER], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: t.dataDir },
  });
  assert.equal(noName.status, 2);
});
