// Local delivery: aliases, groups, +tags, catch-all, <Postmaster>, unknown users refused at RCPT, one
// copy per account, Delivered-To per recipient over one shared stored content, full-text indexed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, type SmtpTestServer, splitTrace, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
  const d = t.app.directory;
  await d.addAlias(`info@${DOMAIN}`, [`alice@${DOMAIN}`]);
  await d.addAlias(`team@${DOMAIN}`, [`alice@${DOMAIN}`, `bob@${DOMAIN}`]);
  await d.addDomain('catch.test');
  await d.addAccount('keeper@catch.test', 'pw-keeper-123');
  await d.addAlias('@catch.test', ['keeper@catch.test']);
});
after(() => t.stop());

/** Sends one message to the given recipients over the MX listener; returns the RCPT and final replies. */
async function send(rcpts: string[], raw: string) {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO deliver.test');
  await c.expect(250, 'MAIL FROM:<sender@remote.test>');
  const codes: number[] = [];
  for (const r of rcpts) codes.push((await c.cmd(`RCPT TO:<${r}>`)).code);
  const data = await c.cmd('DATA');
  let final = null;
  if (data.code === 354) {
    c.write(`${raw}.\r\n`);
    final = await c.read();
  }
  c.close();
  return { codes, data: data.code, final };
}

async function count(address: string) {
  return (await t.inbox(address)).length;
}

test('an unknown local user is refused at RCPT with 550 5.1.1', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO deliver.test');
  await c.expect(250, 'MAIL FROM:<sender@remote.test>');
  await c.expect(550, `RCPT TO:<nobody@${DOMAIN}>`, /5\.1\.1/);
  await c.expect(554, 'DATA', /No valid recipients/);
  c.close();
});

test('alias, group, +tag and the account itself: one copy per account, each with its own Delivered-To', async () => {
  const [a0, b0] = [await count(`alice@${DOMAIN}`), await count(`bob@${DOMAIN}`)];
  const raw = message({ id: 'fanout@test', subject: 'fan-out zebracorn' });
  const r = await send([`info@${DOMAIN}`, `team@${DOMAIN}`, `alice+lists@${DOMAIN}`, `ALICE@${DOMAIN}`], raw);
  assert.deepEqual(r.codes, [250, 250, 250, 250]);
  assert.equal(r.final?.code, 250);
  assert.equal(await count(`alice@${DOMAIN}`), a0 + 1, 'alice once, though named four ways');
  assert.equal(await count(`bob@${DOMAIN}`), b0 + 1);
  const alice = (await t.inbox(`alice@${DOMAIN}`)).at(-1)!;
  const bob = (await t.inbox(`bob@${DOMAIN}`)).at(-1)!;
  assert.match(splitTrace(alice).trace, /^Delivered-To: alice@example\.test\r\n/);
  assert.match(splitTrace(bob).trace, /^Delivered-To: bob@example\.test\r\n/);
  // The shared part (Return-Path, Received, message) is the same content, stored once.
  assert.deepEqual(alice.subarray(alice.indexOf('Return-Path')), bob.subarray(bob.indexOf('Return-Path')));
  const [ra, rb] = await Promise.all(
    [`alice@${DOMAIN}`, `bob@${DOMAIN}`].map(async (a) => {
      const acc = await t.app.store.getAccount(a);
      const mb = await t.app.store.getMailbox(acc!.id, 'INBOX');
      return (await t.app.store.listMessages(mb!.id)).at(-1)!;
    }),
  );
  assert.equal(ra.bodyId, rb.bodyId);
  // Indexed on the way in.
  const acc = await t.app.store.getAccount(`bob@${DOMAIN}`);
  const mb = await t.app.store.getMailbox(acc!.id, 'INBOX');
  assert.deepEqual(await t.app.store.searchText(mb!.id, 'text', 'zebracorn'), [rb.uid]);
});

test('catch-all receives mail for unknown local parts of its domain', async () => {
  const r = await send(['whoever@catch.test'], message({ to: 'whoever@catch.test' }));
  assert.equal(r.final?.code, 250);
  assert.equal(await count('keeper@catch.test'), 1);
});

test('<Postmaster> without a domain is accepted (RFC 5321 section 4.5.1)', async () => {
  const before = await count(`postmaster@${DOMAIN}`);
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'HELO old.test');
  await c.expect(250, 'MAIL FROM:<>');
  await c.expect(250, 'RCPT TO:<Postmaster>');
  await c.expect(354, 'DATA');
  c.write(`${message({ to: 'postmaster' })}.\r\n`);
  const r = await c.read();
  assert.match(r.raw, /^250 2\.0\.0 OK/, 'HELO session: enhanced codes all the same (RFC 2034 section 5)');
  c.close();
  assert.equal(await count(`postmaster@${DOMAIN}`), before + 1);
  const stored = (await t.inbox(`postmaster@${DOMAIN}`)).at(-1)!;
  assert.match(
    splitTrace(stored).trace,
    /Return-Path: <>\r\nReceived: from old\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test\.petrel \(Petrel\) with SMTP id/,
  );
});

test('postmaster@ a domain without one reaches the first administrator, in any case; an own alias or catch-all comes first', async () => {
  const d = t.app.directory;
  await d.addDomain('no-postmaster.test');
  await d.addAccount('user@no-postmaster.test', 'pw-user-12345');
  // The default smtp.postmaster: the first administrator account (the first start makes one).
  await d.addAccount(`admin@${DOMAIN}`, 'pw-admin-12345', { role: 'admin' });
  const before = [await count(`admin@${DOMAIN}`), await count('keeper@catch.test')];
  const r = await send(
    ['PostMaster@No-Postmaster.TEST', 'postmaster@catch.test'],
    message({ to: 'postmaster@no-postmaster.test', subject: 'your server rejects our mail' }),
  );
  assert.deepEqual(r.codes, [250, 250], 'RFC 5321 section 4.5.1: postmaster must be accepted');
  assert.equal(r.final?.code, 250);
  assert.equal(await count(`admin@${DOMAIN}`), before[0] + 1);
  assert.match(splitTrace((await t.inbox(`admin@${DOMAIN}`)).at(-1)!).trace, /^Delivered-To: admin@example\.test\r\n/);
  assert.equal(await count('keeper@catch.test'), before[1] + 1, "the catch-all domain's own choice");
  // Other reserved-looking names are not invented: unknown stays unknown.
  const other = await send(['hostmaster@no-postmaster.test'], message());
  assert.deepEqual(other.codes, [550]);
});

test('the default postmaster is the first administrator there is now: removed, the next one; none, 550', async () => {
  const d = t.app.directory;
  await d.addDomain('pm-gone.test');
  await d.addAccount('user@pm-gone.test', 'pw-user-12345');
  await d.addAccount('first-admin@pm-gone.test', 'pw-admin-12345', { role: 'admin' });
  await d.addAccount('second-admin@pm-gone.test', 'pw-admin-12345', { role: 'admin' });
  // Whoever was first before this test (another test's admin) is removed, as an admin removing the
  // account the first start made would.
  for (const a of await t.app.store.listAccounts())
    if (a.role === 'admin' && !a.address.endsWith('@pm-gone.test')) await d.removeAccount(a.address);
  const first = await count('first-admin@pm-gone.test');
  const r = await send(['postmaster@pm-gone.test'], message({ subject: 'to the postmaster' }));
  assert.deepEqual([r.codes, r.final?.code], [[250], 250]);
  assert.equal(await count('first-admin@pm-gone.test'), first + 1);
  await d.removeAccount('first-admin@pm-gone.test');
  const second = await count('second-admin@pm-gone.test');
  const again = await send(['postmaster@pm-gone.test'], message());
  assert.deepEqual([again.codes, again.final?.code], [[250], 250]);
  assert.equal(await count('second-admin@pm-gone.test'), second + 1, 'the next administrator');
  await d.removeAccount('second-admin@pm-gone.test');
  const none = await send(['postmaster@pm-gone.test'], message());
  assert.deepEqual(none.codes, [550], 'no administrator and no smtp.postmaster: nobody to give it to');
});

test('<Postmaster> alone is taken when the first domain is gone: the server postmaster gets it', async () => {
  const other = await startSmtpServer({ configure: (c) => void (c.bootstrap.domain = 'removed-first.test') });
  try {
    await other.app.directory.addAccount(`boss@${DOMAIN}`, 'pw-boss-12345', { role: 'admin' });
    const c = await RawSmtp.open(other.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO deliver.test');
    await c.expect(250, 'MAIL FROM:<>');
    await c.expect(250, 'RCPT TO:<Postmaster>');
    await c.expect(354, 'DATA');
    c.write(`${message({ to: 'postmaster', subject: 'for the postmaster' })}.\r\n`);
    assert.equal((await c.read()).code, 250);
    c.close();
    assert.equal((await other.inbox(`boss@${DOMAIN}`)).length, 1);
  } finally {
    await other.stop();
  }
});

test('an alias target nobody can route to is refused when made, and skipped when its domain is gone since', async () => {
  const d = t.app.directory;
  await assert.rejects(
    d.addAlias(`to-localhost@${DOMAIN}`, ['someone@localhost']),
    /localhost is neither hosted here nor a domain mail can go to/,
  );
  await d.addDomain('intranet');
  await d.addAccount('someone@intranet', 'pw-someone-123');
  await d.addAlias(`via-intranet@${DOMAIN}`, ['someone@intranet', `bob@${DOMAIN}`]);
  await d.addAlias(`only-intranet@${DOMAIN}`, ['someone@intranet']);
  await d.removeAccount('someone@intranet');
  await d.removeDomain('intranet');
  const [a0, b0] = [await count(`alice@${DOMAIN}`), await count(`bob@${DOMAIN}`)];
  // It was accepted at RCPT and then failed the whole message, every recipient's, with 501 after DATA.
  const r = await send([`alice@${DOMAIN}`, `via-intranet@${DOMAIN}`], message({ subject: 'stale alias' }));
  assert.deepEqual([r.codes, r.final?.code], [[250, 250], 250]);
  assert.equal(await count(`alice@${DOMAIN}`), a0 + 1);
  assert.equal(await count(`bob@${DOMAIN}`), b0 + 1);
  const only = await send([`only-intranet@${DOMAIN}`], message());
  assert.deepEqual(only.codes, [550], 'an alias with nowhere to go is an unknown user');
});

test('bad sequences and syntax get 503 and 501', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(503, 'MAIL FROM:<a@remote.test>');
  await c.expect(501, 'EHLO');
  await c.expect(250, 'EHLO x.test');
  await c.expect(503, `RCPT TO:<alice@${DOMAIN}>`, /MAIL/);
  await c.expect(501, 'MAIL FROM:alice', /5\.1\.7/);
  await c.expect(555, 'MAIL FROM:<a@remote.test> FOO=BAR', /5\.5\.4/);
  // A good address with a bad parameter is a parameter error (5.5.4), not a bad address (5.1.7/5.1.3).
  await c.expect(
    501,
    'MAIL FROM:<a@remote.test> RET=HDRS RET=FULL',
    /^501 5\.5\.4 Invalid parameters: RET given twice/,
  );
  await c.expect(553, 'MAIL FROM:<δ@remote.test>', /5\.6\.7/);
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(503, 'MAIL FROM:<a@remote.test>', /Nested/);
  await c.expect(501, `RCPT TO:<alice@${DOMAIN}> NOTIFY=SOMETIMES`);
  await c.expect(501, `RCPT TO:<alice@${DOMAIN}> NOTIFY=NEVER NOTIFY=NEVER`, /^501 5\.5\.4 Invalid parameters/);
  await c.expect(252, 'VRFY alice');
  await c.expect(502, 'EXPN team');
  await c.expect(214, 'HELP');
  await c.expect(500, 'LHLO x.test');
  await c.expect(250, 'RSET');
  await c.expect(221, 'QUIT');
  await c.closedByServer();
});
