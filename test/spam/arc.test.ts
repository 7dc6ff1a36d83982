// ARC (RFC 8617) over the wire: a message sealed by an earlier hop verifies (arc=pass) and a seal broken
// by a later change fails; mail an alias forwards to another server leaves ARC-sealed with the alias
// domain's DKIM key, and mailauth's verifier on the receiving side (a fake MTA on 127.0.0.2, the test's
// DNS) finds the chain valid and our Authentication-Results in its ARC-Authentication-Results.
import assert from 'node:assert/strict';
import { createPrivateKey, sign as rsaSign } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sealMessage } from 'mailauth';
import { mailDkim, mailDkimPeer } from '../helpers/dkim-verifiers.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import {
  authResults,
  mailbox,
  message,
  publishKey,
  send,
  sign,
  startSpamWorld,
  type TestKey,
  USER,
  verifyAtReceiver,
} from './fixture.ts';

const perlDkim = mailDkimPeer();

let f: OutboundFixture;
let sender: TestKey;
let forwarder: TestKey;
let strict: TestKey;
let untrusted: TestKey;

before(async () => {
  f = await startSpamWorld({
    zones: {
      'sender.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']] },
      '_dmarc.sender.test': { TXT: [['v=DMARC1; p=none']] },
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
      'mx.remote.test': { A: ['127.0.0.2'] },
      '41.0.0.127.bl.test': { A: ['127.0.0.2'] },
      'strict.test': { TXT: [['v=spf1 ip4:127.0.0.6 -all']] },
      '_dmarc.strict.test': { TXT: [['v=DMARC1; p=reject']] },
    },
    hosts: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.7', '127.0.0.8'],
    configure(c) {
      c.listeners.lmtp.enabled = true;
      c.spam.dnsbl.zones = ['bl.test=127.0.0.2:JUNKY:9'];
      c.spam.auth.arc_trusted_sealers = ['forwarder.test'];
    },
  });
  sender = publishKey(f, 'sender.test', 's1');
  forwarder = publishKey(f, 'forwarder.test', 'arc');
  strict = publishKey(f, 'strict.test', 's1');
  untrusted = publishKey(f, 'other-list.test', 'arc');
  const k = await f.app.dkim.generate('example.com', { algorithm: 'rsa', selector: 'e2e' });
  f.dns.set('e2e._domainkey.example.com', { TXT: [k.record.match(/.{1,255}/g)!] });
});

after(async () => {
  await f?.stop();
});

/** The stored copy with this subject tag, in INBOX or Junk (the broken DKIM signature may score it as junk). */
async function stored(subject: string): Promise<string> {
  const all = [...(await mailbox(f, USER, 'INBOX')), ...(await mailbox(f, USER, 'Junk'))];
  const m = all.find((x) => x.includes(`Subject: [list] ${subject}\r\n`));
  assert.ok(m, `a stored copy of ${subject}`);
  return m;
}

/** A list-style forwarder: changes the subject (breaking DKIM) and seals what it saw. */
async function forwardedByList(
  subject: string,
  opts: { author?: TestKey; sealer?: TestKey; saw?: string } = {},
): Promise<string> {
  const author = opts.author ?? sender;
  const sealer = opts.sealer ?? forwarder;
  const original = await sign(message(`Bob <bob@${author.domain}>`, subject), author);
  const changed = original.replace(`Subject: ${subject}`, `Subject: [list] ${subject}`);
  const seal = await sealMessage(Buffer.from(changed), {
    signingDomain: sealer.domain,
    selector: sealer.selector,
    privateKey: sealer.privateKey,
    authResults:
      opts.saw ??
      `lists.${sealer.domain}; spf=pass smtp.mailfrom=bob@${author.domain}; dkim=pass header.d=${author.domain}`,
    cv: 'none',
  });
  return seal.toString() + changed;
}

test('a message sealed by the hop before verifies: arc=pass beside the broken DKIM signature', async () => {
  const raw = await forwardedByList('sealed');
  const r = await send(f, { ip: '127.0.0.40', helo: 'lists.forwarder.test', from: 'list@forwarder.test', raw });
  assert.ok(r.ok, r.response);
  const [ar] = authResults(await stored('sealed'));
  assert.match(ar, /arc=pass/);
  assert.match(ar, /dkim=fail/);
});

test('a sealed message changed after sealing: arc=fail', async () => {
  const raw = (await forwardedByList('resealed')).replace('Hello Alice.', 'Hello Mallory.');
  const r = await send(f, { ip: '127.0.0.40', helo: 'lists.forwarder.test', from: 'list@forwarder.test', raw });
  assert.ok(r.ok, r.response);
  const [ar] = authResults(await stored('resealed'));
  assert.match(ar, /arc=fail/);
});

test('forwarding through an alias adds an ARC set the next receiver verifies', async () => {
  await f.app.directory.addAlias('fwd@example.com', ['carol@remote.test']);
  const mta = await f.mta('127.0.0.2');
  const raw = await sign(message('Bob <bob@sender.test>', 'to forward'), sender);
  const r = await send(f, {
    ip: '127.0.0.5',
    helo: 'mail.sender.test',
    from: 'bob@sender.test',
    to: ['fwd@example.com'],
    raw,
  });
  assert.ok(r.ok, r.response);
  const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 15000, 'the forwarded message');
  const data = m.data;
  assert.match(data.toString(), /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=example\.com; s=e2e;/);
  // The receiving side: mailauth over the same DNS, the client being our queue on 127.0.0.1.
  const res = await verifyAtReceiver(f, data, m.from);
  assert.ok(res.arc);
  assert.equal(res.arc.status.result, 'pass');
  // Our verification travels in the ARC-Authentication-Results (RFC 8617 section 4.1.1).
  const aar = /ARC-Authentication-Results: i=1; mx\.test\.petrel;(?:[^\r]|\r\n )*/.exec(data.toString())?.[0] ?? '';
  assert.match(aar, /spf=pass/);
  assert.match(aar, /dkim=pass header\.d=sender\.test/);
  // The original DKIM signature still verifies at the far end; SPF of the forwarder's IP does not pass.
  assert.equal(res.dkim.results[0]?.status.result, 'pass');
  assert.notEqual(res.spf ? res.spf.status.result : 'none', 'pass');
});

test('a forwarded message judged junk carries our X-Spam-* lines, still sealed', async () => {
  const mta = await f.mta('127.0.0.3');
  f.dns.set('remote2.test', { MX: [{ preference: 10, exchange: 'mx.remote2.test' }] });
  f.dns.set('mx.remote2.test', { A: ['127.0.0.3'] });
  await f.app.directory.addAlias('fwd2@example.com', ['dora@remote2.test']);
  const raw = message('x@listed.test', 'junk to forward');
  const r = await send(f, {
    ip: '127.0.0.41',
    helo: 'mail.listed.test',
    from: 'x@listed.test',
    to: ['fwd2@example.com'],
    raw,
  });
  assert.ok(r.ok, r.response);
  const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 15000, 'the forwarded junk');
  const text = m.data.toString();
  assert.match(text, /^ARC-Seal: i=1; /);
  assert.match(text, /\r\nX-Spam-Flag: YES\r\n/);
  assert.match(text, /tests=[^\r]*RBL_JUNKY=9/);
});

test('forwarded mail from the internet claiming one of our domains is not DKIM-signed with our key', async () => {
  const mta = await f.mta('127.0.0.4');
  f.dns.set('remote3.test', { MX: [{ preference: 10, exchange: 'mx.remote3.test' }] });
  f.dns.set('mx.remote3.test', { A: ['127.0.0.4'] });
  await f.app.directory.addAlias('fwd3@example.com', ['erin@remote3.test']);
  const raw = message('The Boss <boss@example.com>', 'spoofed boss');
  const r = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.spoof.test',
    from: 'boss@spoof.test',
    to: ['fwd3@example.com'],
    raw,
  });
  assert.ok(r.ok, r.response);
  const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 15000, 'the forwarded message');
  assert.doesNotMatch(m.data.toString(), /^DKIM-Signature:/m);
  assert.match(m.data.toString(), /^ARC-Seal: i=1; /);
});

test('internet mail arriving over LMTP and forwarded by an alias is not DKIM-signed with our key, but ARC-sealed', async () => {
  const mta = await f.mta('127.0.0.7');
  f.dns.set('remote4.test', { MX: [{ preference: 10, exchange: 'mx.remote4.test' }] });
  f.dns.set('mx.remote4.test', { A: ['127.0.0.7'] });
  await f.app.directory.addAlias('fwd4@example.com', ['fay@remote4.test']);
  // The MTA in front wrote its Received on top: the sender's client was 127.0.0.5 (in sender.test's SPF).
  const raw =
    'Received: from mail.sender.test (mail.sender.test [127.0.0.5])\r\n\tby front.example.com with ESMTP id 1A2B;' +
    ` ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    (await sign(message('The Boss <boss@example.com>', 'lmtp boss'), sender));
  const c = await RawSmtp.open(f.server.ports.lmtp);
  try {
    await c.expect(220);
    await c.expect(250, 'LHLO front.example.com');
    await c.expect(250, 'MAIL FROM:<bob@sender.test>');
    await c.expect(250, 'RCPT TO:<fwd4@example.com>');
    await c.expect(354, 'DATA');
    await c.expect(250, `${raw.replace(/\r\n$/, '')}\r\n.`);
    await c.cmd('QUIT').catch(() => {});
  } finally {
    c.close();
  }
  const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 15000, 'the forwarded message');
  const text = m.data.toString();
  // A forged From of our own domain must not leave with our signature (it would pass DMARC at the receiver).
  assert.doesNotMatch(text, /^DKIM-Signature:[\s\S]*?d=example\.com/m);
  // Sealed as MX mail is, with what we verified of the sender the MTA in front received it from.
  assert.match(text, /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=example\.com; s=e2e;/);
  const aar = /ARC-Authentication-Results: i=1; mx\.test\.petrel;(?:[^\r]|\r\n )*/.exec(text)?.[0] ?? '';
  assert.match(aar, /spf=pass \(mx\.test\.petrel: domain of bob@sender\.test designates 127\.0\.0\.5 /);
  assert.match(aar, /dkim=pass header\.d=sender\.test/);
  const res = await verifyAtReceiver(f, m.data, m.from);
  assert.equal(res.arc ? res.arc.status.result : undefined, 'pass');
});

test('a trusted sealer that saw DMARC pass lifts p=reject for list mail it changed; others do not', async () => {
  const saw =
    'lists.LIST; spf=pass smtp.mailfrom=bob@strict.test; dkim=pass header.d=strict.test; dmarc=pass header.from=strict.test';
  const viaList = (subject: string, sealer: TestKey, seen = saw) =>
    forwardedByList(subject, { author: strict, sealer, saw: seen.replace('LIST', sealer.domain) });
  const from = { ip: '127.0.0.40', helo: 'lists.forwarder.test', from: 'list@forwarder.test' };

  const trusted = await send(f, { ...from, raw: await viaList('trusted list', forwarder) });
  assert.ok(trusted.ok, trusted.response);
  const [ar] = authResults(await stored('trusted list'));
  assert.match(ar, /dmarc=fail/);
  assert.match(ar, /arc=pass/);

  // The same mail sealed by a domain not in arc_trusted_sealers: the author's p=reject stands.
  const other = await send(f, { ...from, raw: await viaList('untrusted list', untrusted) });
  assert.equal(other.code, 550, other.response);
  assert.match(other.response, /5\.7\.1 .*DMARC/);

  // A trusted sealer that did not record dmarc=pass vouches for nothing.
  const unvouched = await send(f, {
    ...from,
    raw: await viaList('unvouched list', forwarder, saw.replace('dmarc=pass', 'dmarc=fail')),
  });
  assert.equal(unvouched.code, 550, unvouched.response);
});

/** RFC 6376 section 3.4.2 relaxed header canonicalization of one field ("Name: value", folded or not). */
function relaxedHeader(field: string): string {
  const i = field.indexOf(':');
  const value = field
    .slice(i + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${field.slice(0, i).trim().toLowerCase()}:${value}`;
}

/**
 * `raw` with an ARC set i=1 put together by hand: the ARC-Message-Signature `amsBy` made over it (kept as
 * is, valid: the content is unchanged), an ARC-Authentication-Results claiming dmarc=pass for the From
 * domain, and an ARC-Seal by `sealer` over both (RFC 8617 section 5.1.1).
 */
async function handSealed(raw: string, amsBy: TestKey, sealer: TestKey, fromDomain: string): Promise<string> {
  const honest = (
    await sealMessage(Buffer.from(raw), {
      signingDomain: amsBy.domain,
      selector: amsBy.selector,
      privateKey: amsBy.privateKey,
      authResults: `lists.${amsBy.domain}; dmarc=fail header.from=${fromDomain}`,
      cv: 'none',
    })
  ).toString();
  const ams = honest.split(/\r\n(?![ \t])/).find((l) => /^ARC-Message-Signature:/i.test(l));
  assert.ok(ams, 'an ARC-Message-Signature to replay');
  const aar = `ARC-Authentication-Results: i=1; lists.${amsBy.domain}; dmarc=pass header.from=${fromDomain}`;
  const asNoB = `ARC-Seal: i=1; a=rsa-sha256; t=${Math.floor(Date.now() / 1000)}; cv=none; d=${sealer.domain}; s=${sealer.selector}; b=`;
  const canon = `${relaxedHeader(aar)}\r\n${relaxedHeader(ams)}\r\n${relaxedHeader(asNoB)}`;
  const b = rsaSign('sha256', Buffer.from(canon), createPrivateKey(sealer.privateKey)).toString('base64');
  return `${asNoB}${b}\r\n${ams}\r\n${aar}\r\n${raw}`;
}

test("a trusted forwarder's ARC-Message-Signature under another domain's seal does not lift p=reject", async () => {
  // The attacker, subscribed to the trusted list forwarder.test, keeps the list's AMS over a spoof of
  // strict.test (p=reject), writes an AAR claiming dmarc=pass and seals the set with its own key. The chain
  // is valid, but its sealer (RFC 8617 section 4.1.3: the ARC-Seal's d=) is other-list.test, trusted by nobody.
  const spoof = message('CEO <ceo@strict.test>', 'replayed ams');
  const forged = await handSealed(spoof, forwarder, untrusted, 'strict.test');
  const seen = await verifyAtReceiver(f, Buffer.from(forged), 'x@other-list.test');
  assert.ok(seen.arc);
  assert.equal(seen.arc.status.result, 'pass', 'the forged chain is valid');
  assert.equal((seen.arc.signature as { signingDomain?: string }).signingDomain, 'forwarder.test');
  const from = { ip: '127.0.0.40', helo: 'mail.other-list.test', from: 'x@other-list.test' };
  const r = await send(f, { ...from, raw: forged });
  assert.equal(r.code, 550, r.response);
  assert.match(r.response, /5\.7\.1 .*DMARC/);

  // The other way round: the trusted domain's seal over a set whose AMS is another domain's vouches for
  // nothing either (the seal and the AMS of one set are one hop's, RFC 8617 section 4.1).
  const mixed = await handSealed(message('CEO <ceo@strict.test>', 'mixed set'), untrusted, forwarder, 'strict.test');
  const m = await send(f, { ...from, raw: mixed });
  assert.equal(m.code, 550, m.response);
});

test('a domain with an Ed25519 key older than its RSA key seals with the RSA one, and Mail::DKIM verifies the chain', {
  skip: perlDkim.skip,
}, async () => {
  // RFC 8463 section 4.1: not every verifier knows Ed25519, and a set has one seal (RFC 8617 section
  // 4.2.1). The keyring lists a domain's keys oldest first: here the Ed25519 one.
  await f.app.directory.addDomain('edfirst.test');
  const ed = await f.app.dkim.generate('edfirst.test', { algorithm: 'ed25519', selector: 'ed' });
  f.dns.set('ed._domainkey.edfirst.test', { TXT: [[ed.record]] });
  const rsa = await f.app.dkim.generate('edfirst.test', { algorithm: 'rsa', selector: 'rsa' });
  f.dns.set('rsa._domainkey.edfirst.test', { TXT: [rsa.record.match(/.{1,255}/g)!] });
  assert.deepEqual(
    (await f.app.dkim.list('edfirst.test')).map((k) => k.algorithm),
    ['ed25519', 'rsa'],
  );
  const mta = await f.mta('127.0.0.8');
  f.dns.set('remote5.test', { MX: [{ preference: 10, exchange: 'mx.remote5.test' }] });
  f.dns.set('mx.remote5.test', { A: ['127.0.0.8'] });
  await f.app.directory.addAlias('fwd@edfirst.test', ['gil@remote5.test']);
  const raw = await sign(message('Bob <bob@sender.test>', 'arc algorithm'), sender);
  const r = await send(f, {
    ip: '127.0.0.5',
    helo: 'mail.sender.test',
    from: 'bob@sender.test',
    to: ['fwd@edfirst.test'],
    raw,
  });
  assert.ok(r.ok, r.response);
  const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 15000, 'the forwarded message');
  assert.match(m.data.toString(), /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=edfirst\.test; s=rsa;/);
  assert.equal(
    (await mailDkim(f.dns.port, m.data)).at(-1),
    'arc pass (pass (as.1.edfirst.test=pass, ams.1.edfirst.test=pass))',
  );
});
