// SPF, DKIM and DMARC over the wire: nodemailer from 127.0.0.x to Petrel's MX listener, the senders'
// records in the test's own DNS. Each of pass/fail/softfail/none/temperror is asserted in the stored
// Authentication-Results; DMARC p=reject refuses with 550 5.7.1 at the end of DATA, p=quarantine goes to
// Junk, a domain listed in dmarc_no_enforce is only scored; a forged Authentication-Results with our
// authserv-id is removed; the verdict row is stored beside the message.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import {
  authResults,
  headerOf,
  mailbox,
  message,
  publishKey,
  send,
  sign,
  startSpamWorld,
  submit,
  type TestKey,
  USER,
  verdictSymbols,
} from './fixture.ts';

let f: OutboundFixture;
let rsa: TestKey;
let ed: TestKey;
let broken: TestKey;

before(async () => {
  f = await startSpamWorld({
    zones: {
      // sender.test: only 127.0.0.5 may send; DMARC p=reject.
      'sender.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']] },
      '_dmarc.sender.test': { TXT: [['v=DMARC1; p=reject']] },
      'soft.test': { TXT: [['v=spf1 ip4:127.0.0.5 ~all']] },
      'quarantine.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']] },
      '_dmarc.quarantine.test': { TXT: [['v=DMARC1; p=quarantine']] },
      'lists.test': { TXT: [['v=spf1 -all']] },
      '_dmarc.lists.test': { TXT: [['v=DMARC1; p=reject']] },
      'nospf.test': { A: ['192.0.2.1'] },
      // The HELO name's own record, for the null reverse-path (RFC 7208 section 2.4).
      'mail.sender.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']] },
      // The "ptr" mechanism and the %{p} macro (RFC 7208 sections 5.5 and 7.3): 127.0.0.21's PTR name points
      // back to it; 127.0.0.22's PTR names the same host, which does not.
      'ptr.test': { TXT: [['v=spf1 ptr -all']] },
      'pmacro.test': { TXT: [['v=spf1 exists:%{p}._spf.pmacro.test -all']] },
      'mail.ptr.test._spf.pmacro.test': { A: ['127.0.0.2'] },
      '21.0.0.127.in-addr.arpa': { PTR: ['mail.ptr.test'] },
      '22.0.0.127.in-addr.arpa': { PTR: ['mail.ptr.test'] },
      'mail.ptr.test': { A: ['127.0.0.21'] },
    },
    configure(c) {
      c.listeners.submission.enabled = true;
      c.spam.auth.dmarc_no_enforce = ['lists.test'];
    },
  });
  rsa = publishKey(f, 'sender.test', 'rsa1', 'rsa');
  ed = publishKey(f, 'sender.test', 'ed1', 'ed25519');
  broken = publishKey(f, 'broken.test', 'sel', 'rsa');
  // broken.test: every lookup SERVFAILs (SPF record, DKIM key, DMARC record).
  for (const n of ['broken.test', '_dmarc.broken.test', 'sel._domainkey.broken.test']) f.dns.failing.add(n);
});

after(async () => {
  await f?.stop();
});

async function lastInbox(): Promise<string> {
  const all = await mailbox(f, USER, 'INBOX');
  return all[all.length - 1];
}

test('SPF pass, DKIM pass (RSA and Ed25519), DMARC pass: INBOX with one Authentication-Results of ours', async () => {
  const raw = await sign(await sign(message('Bob <bob@sender.test>', 'all pass'), rsa), ed);
  const r = await send(f, { ip: '127.0.0.5', helo: 'mail.sender.test', from: 'bob@sender.test', raw });
  assert.ok(r.ok, r.response);
  const stored = await lastInbox();
  const ar = authResults(stored);
  assert.equal(ar.length, 1);
  assert.match(ar[0], /^Authentication-Results: mx\.test\.petrel;/);
  assert.match(ar[0], /spf=pass \([^)]*\) smtp\.mailfrom=(?:bob@)?sender\.test/);
  assert.match(ar[0], /dkim=pass header\.d=sender\.test header\.i=@sender\.test header\.s=rsa1 header\.a=rsa-sha256/);
  assert.match(
    ar[0],
    /dkim=pass header\.d=sender\.test header\.i=@sender\.test header\.s=ed1 header\.a=ed25519-sha256/,
  );
  assert.match(ar[0], /dmarc=pass \(p=REJECT/i);
  assert.match(headerOf(stored), /\r\nX-Spam-Status: No, score=-?[\d.]+ required=6\r\n\ttests=[^\r]*DMARC_PASS=-1/);
  // The verdict row beside the delivered copy.
  const acc = await f.app.store.getAccount(USER);
  const mb = await f.app.store.getMailbox(acc!.id, 'INBOX');
  const msgs = await f.app.store.listMessages(mb!.id);
  const [row] = await f.app.store.spam.verdictsFor(acc!.id, msgs[msgs.length - 1].id);
  assert.equal(row.action, 'accept');
  assert.equal(row.clientIp, '127.0.0.5');
  const names = (JSON.parse(row.symbols) as { name: string }[]).map((s) => s.name);
  for (const n of ['SPF_PASS', 'DKIM_PASS', 'DMARC_PASS']) assert.ok(names.includes(n), `${n} in ${names}`);
});

test('null reverse-path: SPF checks the HELO name (pass from its address, fail from another)', async () => {
  for (const [ip, result] of [
    ['127.0.0.5', 'pass'],
    ['127.0.0.6', 'fail'],
  ]) {
    const c = await RawSmtp.open(f.server.ports.smtp, { localAddress: ip });
    await c.expect(220);
    await c.expect(250, 'EHLO mail.sender.test');
    await c.expect(250, 'MAIL FROM:<>');
    await c.expect(250, `RCPT TO:<${USER}>`);
    await c.expect(354, 'DATA');
    c.write(`${message('MAILER-DAEMON@nospf.test', `bounce ${result}`)}.\r\n`);
    await c.expect(250);
    await c.expect(221, 'QUIT');
    c.close();
    const all = [...(await mailbox(f, USER, 'INBOX')), ...(await mailbox(f, USER, 'Junk'))];
    const stored = all.find((m) => m.includes(`Subject: bounce ${result}\r\n`));
    assert.ok(stored);
    assert.match(
      authResults(stored)[0],
      new RegExp(`spf=${result} [^;]*smtp\\.mailfrom=(?:postmaster@)?mail\\.sender\\.test`),
    );
  }
});

test('SPF fail under DMARC p=reject: 550 5.7.1 at the end of DATA, nothing stored, refusal recorded', async () => {
  const before = (await mailbox(f, USER, 'INBOX')).length;
  const raw = message('Bob <bob@sender.test>', 'forged');
  const r = await send(f, { ip: '127.0.0.6', helo: 'mail.forger.test', from: 'bob@sender.test', raw });
  assert.equal(r.ok, false);
  assert.equal(r.code, 550);
  assert.match(r.response, /^550 5\.7\.1 DMARC policy of sender\.test rejects this message/);
  assert.equal((await mailbox(f, USER, 'INBOX')).length, before);
  assert.equal((await mailbox(f, USER, 'Junk')).length, 0);
  const [refusal] = await f.app.store.spam.recentRefusals(1);
  assert.equal(refusal.action, 'reject');
  assert.equal(refusal.mailFrom, 'bob@sender.test');
  assert.match(refusal.symbols, /"SPF_FAIL"/);
  assert.match(refusal.symbols, /"DMARC_FAIL"/);
});

test('DKIM fail (body changed after signing) with SPF pass: DMARC passes on SPF alignment', async () => {
  const signed = await sign(message('bob@sender.test', 'tampered'), rsa);
  const raw = signed.replace('Hello Alice.', 'Hello Mallory.');
  const r = await send(f, { ip: '127.0.0.5', helo: 'mail.sender.test', from: 'bob@sender.test', raw });
  assert.ok(r.ok, r.response);
  const [ar] = authResults(await lastInbox());
  assert.match(ar, /dkim=fail \(body hash did not verify\)/);
  assert.match(ar, /spf=pass/);
  assert.match(ar, /dmarc=pass/);
});

test('DKIM l= with content appended: no pass for us, DMARC failure scored; the same message unchanged passes', async () => {
  // sender.test signs with l= covering its body; someone replays it from elsewhere (SPF fails) with a
  // phishing text appended after the signed part (RFC 6376 section 8.2).
  const body = 'Hello Alice.\r\n';
  const signed = await sign(message('bob@sender.test', 'length-limited', '', body), rsa, body.length);
  let r = await send(f, { ip: '127.0.0.5', helo: 'mail.sender.test', from: 'bob@sender.test', raw: signed });
  assert.ok(r.ok, r.response);
  let symbols = await verdictSymbols(f, USER);
  assert.ok('DKIM_PASS' in symbols && 'DMARC_PASS' in symbols, JSON.stringify(symbols));
  assert.ok(!('DKIM_PARTIAL_BODY' in symbols));
  const [whole] = authResults(await lastInbox());
  assert.match(whole, /; dkim=pass header\./, 'l= covering the whole body is a pass like any other');
  assert.match(whole, /; dmarc=pass/);

  const appended = `${signed}\r\nUrgent: confirm your account at https://evil.example/login\r\n`;
  r = await send(f, { ip: '127.0.0.9', helo: 'mail.elsewhere.test', from: 'bob@sender.test', raw: appended });
  assert.ok(r.ok, `scored, not enforced by default: ${r.response}`);
  symbols = await verdictSymbols(f, USER);
  assert.equal(symbols.DKIM_PARTIAL_BODY, 3, JSON.stringify(symbols));
  assert.ok('DKIM_NEUTRAL' in symbols && 'DMARC_FAIL' in symbols && 'SPF_FAIL' in symbols, JSON.stringify(symbols));
  assert.ok(!('DKIM_PASS' in symbols) && !('DMARC_PASS' in symbols));
  // The stored header says what we made of it (RFC 8601 section 2.7.1: "policy"), not a pass.
  const [ar] = authResults((await mailbox(f, USER, 'Junk')).at(-1)!);
  assert.match(ar, /; dkim=policy \(undersized signature: \d+ bytes unsigned\) header\.[a-z]+=@?sender\.test/);
  assert.match(ar, /; dmarc=fail \(passes only with a DKIM signature that leaves part of the body unsigned\)/);
  assert.doesNotMatch(ar, /dkim=pass|dmarc=pass/);
});

test('spam.auth.dkim_partial_body = "fail": the DMARC policy is enforced on such a message', async () => {
  const strict = await startSpamWorld({
    zones: {
      'sender.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']] },
      '_dmarc.sender.test': { TXT: [['v=DMARC1; p=reject']] },
    },
    configure(c) {
      c.spam.auth.dkim_partial_body = 'fail';
    },
  });
  try {
    const key = publishKey(strict, 'sender.test', 'rsa1', 'rsa');
    const body = 'Hello Alice.\r\n';
    const signed = await sign(message('bob@sender.test', 'length-limited', '', body), key, body.length);
    const appended = `${signed}\r\nUrgent: confirm your account at https://evil.example/login\r\n`;
    const r = await send(strict, {
      ip: '127.0.0.9',
      helo: 'mail.elsewhere.test',
      from: 'bob@sender.test',
      raw: appended,
    });
    assert.equal(r.code, 550, r.response);
    assert.match(r.response, /only aligned DKIM signature leaves part of the body unsigned/);
  } finally {
    await strict.stop();
  }
});

test('SPF softfail without DMARC: delivered, spf=softfail, dmarc=none', async () => {
  const raw = message('carol@soft.test', 'softfail');
  const r = await send(f, { ip: '127.0.0.6', helo: 'mail.soft.test', from: 'carol@soft.test', raw });
  assert.ok(r.ok, r.response);
  const [ar] = authResults(await lastInbox());
  assert.match(ar, /spf=softfail \([^)]*\) smtp\.mailfrom=(?:carol@)?soft\.test/);
  assert.match(ar, /dkim=none/);
  assert.match(ar, /dmarc=none/);
});

test('SPF "ptr" and %{p}: the client\'s PTR name that resolves back to it matches, one that does not fails', async () => {
  const spfOf = async (ip: string, from: string) => {
    const r = await send(f, { ip, helo: 'mail.ptr.test', from, raw: message(from, `ptr ${ip}`) });
    assert.ok(r.ok, r.response);
    return authResults(await lastInbox())[0];
  };
  assert.match(await spfOf('127.0.0.21', 'pat@ptr.test'), /spf=pass \([^)]*\) smtp\.mailfrom=(?:pat@)?ptr\.test/);
  assert.equal((await verdictSymbols(f, USER)).SPF_PASS, -0.5);
  assert.match(await spfOf('127.0.0.21', 'pat@pmacro.test'), /spf=pass/);
  // The PTR name is not validated for 127.0.0.22: no match, and %{p} is "unknown".
  assert.match(await spfOf('127.0.0.22', 'pat@ptr.test'), /spf=fail/);
  assert.match(await spfOf('127.0.0.22', 'pat@pmacro.test'), /spf=fail/);
});

test('no records at all: spf=none, dkim=none, dmarc=none', async () => {
  const raw = message('dan@nospf.test', 'none');
  const r = await send(f, { ip: '127.0.0.6', helo: 'mail.nospf.test', from: 'dan@nospf.test', raw });
  assert.ok(r.ok, r.response);
  const [ar] = authResults(await lastInbox());
  assert.match(ar, /spf=none/);
  assert.match(ar, /dkim=none/);
  assert.match(ar, /dmarc=none/);
});

test('SERVFAIL for every record: spf, dkim and dmarc temperror, still delivered', async () => {
  const raw = await sign(message('eve@broken.test', 'temperror'), broken);
  const r = await send(f, { ip: '127.0.0.6', helo: 'mail.broken.test', from: 'eve@broken.test', raw });
  assert.ok(r.ok, r.response);
  const [ar] = authResults(await lastInbox());
  assert.match(ar, /spf=temperror/);
  assert.match(ar, /dkim=temperror/);
  assert.match(ar, /dmarc=temperror/);
});

test('a nameserver that times out for one domain: spf, dkim and dmarc temperror, still delivered', async () => {
  const slow = publishKey(f, 'slow.test', 'sel', 'ed25519');
  for (const n of ['slow.test', '_dmarc.slow.test', 'sel._domainkey.slow.test']) f.dns.silent.add(n);
  const raw = await sign(message('sam@slow.test', 'timeouts'), slow);
  const r = await send(f, { ip: '127.0.0.6', helo: 'mail.slow.test', from: 'sam@slow.test', raw });
  assert.ok(r.ok, r.response);
  const [ar] = authResults(await lastInbox());
  assert.match(ar, /spf=temperror/);
  assert.match(ar, /dkim=temperror/);
  assert.match(ar, /dmarc=temperror/);
});

test("DMARC p=reject with the author domain's SPF include and DKIM key unreachable: policy not applied (RFC 7489 6.6.2), delivered", async () => {
  // The DMARC record answers; what could make the message pass does not. A DNS failure must not become a
  // permanent refusal (or Junk) of genuine mail.
  f.dns.set('vendor.test', { TXT: [['v=spf1 include:spf.provider.test -all']] });
  f.dns.set('spf.provider.test', { TXT: [['v=spf1 ip4:127.0.0.44 -all']] });
  f.dns.set('_dmarc.vendor.test', { TXT: [['v=DMARC1; p=reject']] });
  const vendor = publishKey(f, 'vendor.test', 'v1');
  const attacker = publishKey(f, 'attacker.test', 'a1');
  for (const mode of ['failing', 'silent'] as const) {
    f.dns[mode].add('spf.provider.test');
    f.dns[mode].add('v1._domainkey.vendor.test');
    try {
      const raw = await sign(message('billing@vendor.test', `invoice ${mode}`), vendor);
      const r = await send(f, { ip: '127.0.0.44', helo: 'mail.vendor.test', from: 'billing@vendor.test', raw });
      assert.equal(r.code, 250, r.response);
      const stored = (await mailbox(f, USER, 'INBOX')).find((m) => m.includes(`Subject: invoice ${mode}\r\n`));
      assert.ok(stored, `invoice ${mode} in the INBOX`);
      const [ar] = authResults(stored);
      assert.match(ar, /spf=temperror/);
      assert.match(ar, /dkim=temperror/);
      assert.match(ar, /dmarc=temperror/);
      const symbols = await verdictSymbols(f, USER);
      assert.equal(symbols.DMARC_TEMPERROR, 0);
      assert.equal(symbols.DMARC_FAIL, undefined);
    } finally {
      f.dns[mode].clear();
    }
  }
  // A spoof cannot switch the policy off with a signature of its own domain whose key lookup fails: that
  // signature could never have aligned with vendor.test.
  f.dns.failing.add('a1._domainkey.attacker.test');
  try {
    const raw = await sign(message('billing@vendor.test', 'spoofed invoice'), attacker);
    const r = await send(f, { ip: '127.0.0.6', helo: 'mail.attacker.test', from: 'billing@vendor.test', raw });
    assert.equal(r.code, 550, r.response);
    assert.match(r.response, /DMARC policy of vendor\.test rejects/);
  } finally {
    f.dns.failing.clear();
  }
});

test('DMARC p=quarantine failure goes to Junk with X-Spam-Flag: YES', async () => {
  const raw = message('frank@quarantine.test', 'quarantined');
  const r = await send(f, { ip: '127.0.0.6', helo: 'mail.quarantine.test', from: 'frank@quarantine.test', raw });
  assert.ok(r.ok, r.response);
  const junk = (await mailbox(f, USER, 'Junk')).filter((m) => /Subject: quarantined/.test(m));
  assert.equal(junk.length, 1);
  assert.match(headerOf(junk[0]), /\r\nX-Spam-Flag: YES\r\n/);
  assert.match(authResults(junk[0])[0], /spf=fail.*dmarc=fail/);
  assert.doesNotMatch((await lastInbox()) ?? '', /Subject: quarantined/);
});

test('a domain in dmarc_no_enforce: its p=reject is scored, not enforced', async () => {
  const raw = message('list@lists.test', 'list mail');
  const r = await send(f, { ip: '127.0.0.6', helo: 'mail.lists.test', from: 'list@lists.test', raw });
  assert.ok(r.ok, r.response);
  // Delivered (here to Junk: SPF and DMARC failures add up past junk_score), never refused.
  const stored = [...(await mailbox(f, USER, 'INBOX')), ...(await mailbox(f, USER, 'Junk'))].find((m) =>
    m.includes('Subject: list mail'),
  );
  assert.ok(stored);
  assert.match(authResults(stored)[0], /dmarc=fail/);
  assert.match(headerOf(stored), /DMARC_FAIL=3/);
});

test('a forged Authentication-Results with our authserv-id is removed; one from elsewhere stays', async () => {
  const forged =
    'Authentication-Results: mx.test.petrel; spf=pass smtp.mailfrom=ceo@example.com; dmarc=pass\r\n' +
    'Authentication-Results: relay.elsewhere.test; spf=pass\r\n' +
    // Our id behind a nested comment, an escaped parenthesis, a quoted-pair, or a tspecial: each names us
    // to a reader that follows RFC 5322/8601 (and RFC 2045's token).
    'Authentication-Results: (relay (internal)) mx.test.petrel; dkim=pass header.d=bank.example\r\n' +
    'Authentication-Results: (note \\) x) mx.test.petrel; dmarc=pass header.from=bank.example\r\n' +
    'Authentication-Results: "mx.test\\.petrel"; spf=pass smtp.mailfrom=bank.example\r\n' +
    'Authentication-Results: mx.test.petrel/x; arc=pass header.from=bank.example\r\n' +
    'X-Spam-Flag: NO\r\nX-Spam-Score: -50\r\nX-Spam-Level: \r\nx-spam-report: nothing to see\r\n';
  const raw = message('dan@nospf.test', 'forged results', forged);
  const r = await send(f, { ip: '127.0.0.6', helo: 'mail.nospf.test', from: 'dan@nospf.test', raw });
  assert.ok(r.ok, r.response);
  const stored = await lastInbox();
  const ar = authResults(stored);
  assert.equal(ar.length, 2);
  assert.match(ar[0], /^Authentication-Results: mx\.test\.petrel;.*spf=none/);
  assert.equal(ar[1], 'Authentication-Results: relay.elsewhere.test; spf=pass');
  assert.doesNotMatch(stored, /ceo@example\.com/);
  assert.doesNotMatch(stored, /bank\.example/);
  // Only our X-Spam-* lines remain (every X-Spam-* field from outside goes, as SpamAssassin removes them).
  assert.equal(stored.match(/^X-Spam-Flag:/gm)?.length, 1);
  assert.doesNotMatch(stored, /X-Spam-Score: -50/);
  assert.doesNotMatch(stored, /^X-Spam-(?:Level|Report):/im);
});

test('a user cannot hand a colleague a forged result under our authserv-id through submission either', async () => {
  const raw =
    `From: ${USER}\r\nTo: ${USER}\r\nSubject: forged by a user\r\n` +
    'Authentication-Results: mx.test.petrel; dkim=pass header.d=bank.example\r\n' +
    'Authentication-Results: relay.elsewhere.test; spf=pass\r\n\r\nPay now.\r\n';
  const r = await submit(f, { to: [USER], raw });
  assert.ok(r.ok, r.response);
  const stored = (await mailbox(f, USER, 'INBOX')).find((m) => m.includes('Subject: forged by a user'));
  assert.ok(stored);
  assert.doesNotMatch(stored, /bank\.example/);
  assert.deepEqual(authResults(stored), ['Authentication-Results: relay.elsewhere.test; spf=pass']);
});
