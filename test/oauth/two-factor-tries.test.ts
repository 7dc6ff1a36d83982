// A login waiting for its second factor on the OAuth page takes five answers, then the password must be given
// again: one after the other, and sent all at once (each answer claims a try in the store before it is
// judged, so concurrent requests, to one node or several, cannot all be judged against the same count).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { totpCode } from '../../src/auth/totp.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { lenientSignIn, startTestServer, type TestServer } from '../helpers/server.ts';
import { Browser, pkce, readForm } from './browser.ts';
import { signIn } from './flows.ts';

const USER = 'gus@example.com';
const PASS = 'gus password 3';
const WRONG = 'That code is not valid.';
const AGAIN = 'Sign in again.';

const backends: ['sqlite' | 'postgres', string | undefined][] = [
  ['sqlite', undefined],
  ['postgres', pgTestUrl() ? undefined : PG_SKIP_REASON],
];

for (const [backend, skip] of backends) {
  describe(`second-factor tries per pending login (${backend})`, { skip }, () => {
    let s: TestServer;
    let secret = '';
    const log = captureLog();
    before(async () => {
      // The brute-force limiter (tested in brute-force.test.ts) must not answer these first.
      s = await startTestServer({ backend, pgUrl: pgTestUrl(), configure: lenientSignIn, logTo: log.stream });
      await s.app.directory.addDomain('example.com');
      const acc = await s.app.directory.addAccount(USER, PASS);
      secret = (await s.app.oauth.twoFactor.enableNow(acc.id, USER)).secret;
    });
    after(() => s?.stop());

    /** A browser past the password step: the second-factor form's action, to post codes to. */
    async function pendingLogin(): Promise<{ browser: Browser; action: string }> {
      const browser = new Browser(`http://127.0.0.1:${s.ports.http}`);
      const r = await signIn(browser, { username: USER, password: PASS, challenge: pkce().challenge });
      assert.match(r.page, /Two-factor code/);
      return { browser, action: readForm(r.page).action };
    }

    /** Codes judged wrong so far: each is a security event (Login.failed). */
    const judgedWrong = () =>
      log.lines.filter((l) => l.event === 'auth_failure' && l.mechanism === 'second-factor').length;

    const answer = async (p: { browser: Browser; action: string }, code: string) => {
      const page = await p.browser.request(p.action, { form: { code } });
      assert.equal(page.status, 401, page.text.slice(0, 300));
      if (page.text.includes(WRONG)) return 'wrong';
      if (page.text.includes(AGAIN)) return 'again';
      throw new Error(`neither answer: ${page.text.slice(0, 300)}`);
    };

    test('five wrong codes, then the password must be given again: the right code is not judged', async () => {
      const p = await pendingLogin();
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await answer(p, '000000'));
      assert.deepEqual(answers, ['wrong', 'wrong', 'wrong', 'wrong', 'again']);
      assert.equal(await answer(p, totpCode(secret, Date.now())), 'again');
    });

    test('twenty wrong codes sent at once: five are judged, the rest are told to sign in again', async () => {
      const p = await pendingLogin();
      const before = judgedWrong();
      const answers = await Promise.all(Array.from({ length: 20 }, () => answer(p, '000000')));
      assert.equal(judgedWrong() - before, 5, 'codes checked');
      // The fifth judged answer ends the pending login, and is answered "sign in again" itself.
      assert.equal(answers.filter((a) => a === 'wrong').length, 4);
      assert.equal(await answer(p, totpCode(secret, Date.now())), 'again');
    });
  });
}
