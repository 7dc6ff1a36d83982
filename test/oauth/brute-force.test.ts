// The web sign-in shares the mail protocols' brute-force limiter: failed logins on the OAuth page count
// per IP, lock the IP out of the web form and of IMAP alike, and a lockout refuses even the right password.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Browser, pkce } from './browser.ts';
import { signIn } from './flows.ts';

const USER = 'fred@example.com';
const PASS = 'fred password 7';
let s: TestServer;
before(async () => {
  s = await startTestServer({
    configure: (c) => {
      c.security.max_failures_per_ip = 3;
      c.security.failure_delay_ms = 1;
    },
  });
  await s.app.directory.addDomain('example.com');
  await s.app.directory.addAccount(USER, PASS);
});
after(() => s.stop());

test('three wrong web passwords lock the IP: the web form answers 429 and IMAP refuses too', async () => {
  const base = `http://127.0.0.1:${s.ports.http}`;
  const attempt = (password: string) =>
    signIn(new Browser(base), { username: USER, password, challenge: pkce().challenge });
  for (let i = 0; i < 3; i++) assert.equal((await attempt(`wrong ${i}`)).loginStatus, 401);
  const locked = await attempt(PASS);
  assert.equal(locked.loginStatus, 429);
  assert.equal(locked.redirect.searchParams.get('code'), null);
  const account = await new Browser(base).request('/account/login', { json: { username: USER, password: PASS } });
  assert.equal(account.status, 429);
  const imap = new ImapFlow({
    host: '127.0.0.1',
    port: s.ports.imap,
    secure: false,
    doSTARTTLS: false,
    auth: { user: USER, pass: PASS },
    logger: false,
  });
  imap.on('error', () => {});
  await assert.rejects(imap.connect());
});
