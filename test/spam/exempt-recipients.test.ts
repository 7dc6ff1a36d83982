// Recipients who take spam (spam.exempt_recipients, postmaster and abuse by default): mail to them is
// scored and marked (X-Spam-Flag, the verdict stored) but neither refused nor filed into Junk, because the
// complaints and reports RFC 2142 sends there quote spam. Over SMTP from a client on 127.0.0.x: GTUBE is
// refused for Alice and delivered to postmaster@ and to abuse+tag@ (an alias of Alice's); sent to Alice and
// postmaster@ at once, it is accepted, into Alice's Junk and postmaster's INBOX; sent to Alice and to abuse@
// (her alias) at once, her one copy is exempt whichever RCPT came first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GTUBE } from '../../src/spam/checks/gtube.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

const ALICE = 'alice@exempt.test';
const POSTMASTER = 'postmaster@exempt.test';
let t: TestServer;

before(async () => {
  t = await startTestServer({
    configure(c) {
      c.listeners.smtp.enabled = true;
      c.spam.exempt_recipients = ['postmaster', 'abuse', 'Reports@Bücher.test'];
    },
  });
  await t.app.directory.addDomain('exempt.test');
  await t.app.directory.addAccount(ALICE, 'alice-secret-pw');
  await t.app.directory.addAccount(POSTMASTER, 'postmaster-secret-pw');
  await t.app.directory.addAlias('abuse@exempt.test', [ALICE]);
});
after(() => t?.stop());

async function send(rcpts: string[], subject: string, ip = '127.0.0.95') {
  const c = await RawSmtp.open(t.ports.smtp, { localAddress: ip });
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO client.outside.test');
    await c.expect(250, 'MAIL FROM:<someone@outside.test>');
    for (const r of rcpts) await c.expect(250, `RCPT TO:<${r}>`);
    await c.expect(354, 'DATA');
    return await c.cmd(
      `From: someone@outside.test\r\nTo: ${rcpts.join(', ')}\r\nSubject: ${subject}\r\n` +
        `Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@outside.test>\r\n\r\n${GTUBE}\r\n.`,
    );
  } finally {
    await c.cmd('QUIT').catch(() => {});
  }
}

async function box(address: string, name: string): Promise<string[]> {
  const acc = await t.app.store.getAccount(address);
  const mb = await t.app.store.getMailbox(acc!.id, name);
  const out = [];
  for (const m of await t.app.store.listMessages(mb!.id))
    out.push((await (await t.app.mail.source(m)).read()).toString());
  return out;
}
const subjects = async (address: string, name: string) =>
  (await box(address, name)).map((m) => /^Subject: (.*)$/m.exec(m)![1].trim());

test('postmaster@ and abuse@ get spam, marked; others do not', async () => {
  assert.equal((await send([ALICE], 'to alice')).code, 550);

  const r = await send([POSTMASTER], 'to postmaster', '127.0.0.96');
  assert.equal(r.code, 250, r.raw);
  const [stored] = await box(POSTMASTER, 'INBOX');
  assert.match(stored, /^X-Spam-Flag: YES\r$/m);
  assert.match(stored, /tests=.*GTUBE=1000/);
  // Taken, but still spam to the filter's memory: the sender's reputation counts it as spam, not ham.
  const ip = { kind: 'ip' as const, key: '127.0.0.96' };
  let seen: { spam: number; ham: number } | undefined;
  for (let i = 0; i < 250 && !seen; i++) {
    [seen] = await t.app.store.reputation.lookup([ip], Date.now(), 1e12);
    if (!seen) await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(seen && seen.spam > 0 && seen.ham === 0, JSON.stringify(seen));

  // abuse@ is an alias of Alice's: by the address it was sent to, her copy is exempt too.
  assert.equal((await send(['abuse+fbl@exempt.test'], 'to abuse')).code, 250);
  assert.deepEqual(await subjects(ALICE, 'INBOX'), ['to abuse']);

  // Both at once: accepted; Alice's copy into Junk, postmaster's into INBOX.
  assert.equal((await send([ALICE, POSTMASTER], 'to both')).code, 250);
  assert.deepEqual(await subjects(ALICE, 'Junk'), ['to both']);
  assert.deepEqual(await subjects(POSTMASTER, 'INBOX'), ['to postmaster', 'to both']);
});

test('one account reached both directly and through an exempt alias: its copy is exempt whatever the RCPT order', async () => {
  // abuse@ is an alias of Alice's: the message reaches her once, and it was sent to abuse@, which takes
  // spam. Which RCPT came first must not decide between her INBOX and her Junk.
  assert.equal((await send([ALICE, 'abuse@exempt.test'], 'alice first', '127.0.0.97')).code, 250);
  assert.equal((await send(['abuse@exempt.test', ALICE], 'abuse first', '127.0.0.98')).code, 250);
  const inbox = await subjects(ALICE, 'INBOX');
  assert.ok(inbox.includes('alice first') && inbox.includes('abuse first'), JSON.stringify(inbox));
  assert.ok(!(await subjects(ALICE, 'Junk')).some((s) => s.endsWith(' first')));
});

test('an exempt address written with U-labels is the account kept under the A-label', async () => {
  await t.app.directory.addDomain('bücher.test');
  await t.app.directory.addAccount('reports@bücher.test', 'reports-secret-pw');
  // An ASCII client names the domain by its A-label (RFC 5890 section 2.3.2.1).
  const r = await send(['reports@xn--bcher-kva.test'], 'to reports', '127.0.0.99');
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(await subjects('reports@xn--bcher-kva.test', 'INBOX'), ['to reports']);
});
