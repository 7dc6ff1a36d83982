// DMARC (RFC 7489 section 6.6) edge cases over SMTP: From fields with several addresses or none, the
// organizational domain through the Public Suffix List, sp=, pct=, invalid and duplicate records, strict
// and relaxed alignment, the spelling of the From domain; p=reject refuses at DATA, p=quarantine is Junk.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { transaction } from '../helpers/smtp-client.ts';
import {
  authResults,
  mailbox,
  message,
  newestVerdict,
  publishKey,
  sign,
  startSpamWorld,
  type TestKey,
  USER,
} from './fixture.ts';

let f: OutboundFixture;
let strictKey: TestKey;
let relaxedKey: TestKey;
let attackerKey: TestKey;
/** The client sender.test's SPF record allows, and one it does not. */
const GOOD = '127.0.0.5';
const BAD = '127.0.0.6';

before(async () => {
  f = await startSpamWorld({
    zones: {
      'sender.test': { TXT: [[`v=spf1 ip4:${GOOD} -all`]] },
      '_dmarc.sender.test': { TXT: [['v=DMARC1; p=reject']] },
      '_dmarc.quarantine.test': { TXT: [['v=DMARC1; p=quarantine']] },
      // Anyone may send as other.test; it publishes no DMARC record.
      'other.test': { TXT: [['v=spf1 +all']] },
      'sub.example.co.uk': { TXT: [['v=spf1 -all']] },
      '_dmarc.example.co.uk': { TXT: [['v=DMARC1; p=reject']] },
      '_dmarc.sp.test': { TXT: [['v=DMARC1; p=reject; sp=none']] },
      '_dmarc.pct0.test': { TXT: [['v=DMARC1; p=reject; pct=0']] },
      '_dmarc.pct100.test': { TXT: [['v=DMARC1; p=reject; pct=100']] },
      '_dmarc.qpct0.test': { TXT: [['v=DMARC1; p=quarantine; pct=0']] },
      '_dmarc.badp.test': { TXT: [['v=DMARC1; p=bogus; rua=mailto:r@badp.test']] },
      'contact.test': { TXT: [[`v=spf1 ip4:${GOOD} -all`]] },
      '_dmarc.attacker.test': { TXT: [['v=DMARC1; p=none']] },
      '_dmarc.badp-norua.test': { TXT: [['v=DMARC1; p=bogus']] },
      '_dmarc.multi.test': { TXT: [['v=DMARC1; p=reject'], ['v=DMARC1; p=reject']] },
      '_dmarc.strict.test': { TXT: [['v=DMARC1; p=reject; aspf=s; adkim=s']] },
      'mail.strict.test': { TXT: [[`v=spf1 ip4:${GOOD} -all`]] },
      '_dmarc.relaxed.test': { TXT: [['v=DMARC1; p=reject']] },
      'mail.relaxed.test': { TXT: [[`v=spf1 ip4:${GOOD} -all`]] },
    },
    configure(c) {
      // Only the DMARC policy sends a message to Junk here, never the score of a failure.
      c.spam.junk_score = 14;
    },
  });
  strictKey = publishKey(f, 'strict.test', 'k1');
  attackerKey = publishKey(f, 'attacker.test', 'k1');
  await f.app.store.spam.addListEntry({
    kind: 'allow',
    accountId: null,
    domainId: null,
    entry: 'ceo@contact.test',
    note: '',
    createdAt: Date.now(),
  });
  relaxedKey = publishKey(f, 'relaxed.test', 'k1');
});

after(async () => {
  await f?.stop();
});

let n = 0;

/** Sends `from` (the From field's value) from `ip`; "550 ..." for a refusal, else "INBOX|Junk dmarc=...". */
async function outcome(ip: string, mailFrom: string, from: string, opts: { extra?: string; key?: TestKey } = {}) {
  const subject = `dmarc edge ${++n}`;
  let data = message(from, subject, opts.extra ?? '');
  if (opts.key) data = await sign(data, opts.key);
  const r = await transaction(f.server.ports.smtp, { ip, helo: 'mail.client.test', from: mailFrom, to: [USER], data });
  if (r.code !== 250) return r.raw.trim();
  for (const box of ['INBOX', 'Junk']) {
    const m = (await mailbox(f, USER, box)).find((x) => x.includes(`Subject: ${subject}\r\n`));
    if (m)
      return `${box} ${
        authResults(m)[0]
          .match(/dmarc=[^;]*/g)
          ?.join('; ') ?? '(no dmarc=)'
      }`;
  }
  throw new Error(`${subject} neither refused nor stored`);
}

test('several addresses in From: each author domain is checked, the strictest failing policy applies (6.6.1)', async () => {
  for (const from of ['a@other.test, b@sender.test', 'b@sender.test, a@other.test', 'Bob <b@sender.test>, bob']) {
    const r = await outcome(BAD, 'a@other.test', from);
    assert.match(r, /^550 5\.7\.1 DMARC policy of sender\.test rejects/, from);
  }
  // Several domains that all pass or have no policy: delivered, each one's result in the header.
  const ok = await outcome(GOOD, 'b@sender.test', 'b@sender.test, a@other.test');
  assert.match(ok, /^INBOX /);
  assert.match(ok, /dmarc=pass [^;]*header\.from=sender\.test/);
  assert.match(ok, /dmarc=none header\.from=other\.test/);
  // Quarantine beats none, reject beats quarantine.
  assert.match(await outcome(BAD, 'a@other.test', 'a@other.test, q@quarantine.test'), /^Junk dmarc=fail/);
  assert.match(
    await outcome(BAD, 'a@other.test', 'q@quarantine.test, b@sender.test'),
    /^550 5\.7\.1 DMARC policy of sender\.test/,
  );
});

test('each DMARC record is asked for once per message, however many parts of the check need it', async () => {
  const before = f.dns.queries.length;
  assert.match(await outcome(GOOD, 'b@sender.test', 'b@sender.test, a@other.test'), /^INBOX /);
  const asked = f.dns.queries.slice(before);
  for (const name of ['TXT _dmarc.sender.test', 'TXT _dmarc.other.test'])
    assert.equal(asked.filter((q) => q === name).length, 1, `${name} in ${asked.join(', ')}`);
});

test('many author domains: ten checked, one resinfo per folded line, no header line over 998 octets', async () => {
  const many = Array.from({ length: 30 }, (_, i) => `a@author-domain-with-a-rather-long-name-${i}.test`);
  const asked = f.dns.queries.length;
  const subject = `dmarc edge many ${++n}`;
  const data = message(many.join(',\r\n '), subject);
  const r = await transaction(f.server.ports.smtp, {
    ip: BAD,
    helo: 'mail.client.test',
    from: 'a@other.test',
    to: [USER],
    data,
  });
  assert.equal(r.code, 250, r.raw);
  const stored = [...(await mailbox(f, USER, 'INBOX')), ...(await mailbox(f, USER, 'Junk'))].find((m) =>
    m.includes(`Subject: ${subject}\r\n`),
  );
  assert.ok(stored);
  // The sender chose the names: a From of thousands would be as many lookups at once. The first ten are
  // checked; the rest make a pass impossible (a pass needs every domain).
  assert.equal(authResults(stored)[0].match(/dmarc=none/g)?.length, 10);
  assert.match(authResults(stored)[0], /dmarc=permerror \(20 more author domains not checked: at most 10\)/);
  const dmarcNames = new Set(
    f.dns.queries
      .slice(asked)
      .filter((q) => /^TXT _dmarc\.author-domain/.test(q))
      .map((q) => q.replace(/^TXT _dmarc\./, '')),
  );
  assert.equal(dmarcNames.size, 10, [...dmarcNames].join(', '));
  for (const line of stored.slice(0, stored.indexOf('\r\n\r\n')).split('\r\n')) assert.ok(line.length <= 998, line);
});

test("one author domain's DMARC pass does not authenticate another address in From (allow lists)", async () => {
  // ceo@contact.test is allow-listed; the attacker signs as itself and puts the CEO first in From.
  assert.match(await outcome(GOOD, 'ceo@contact.test', 'ceo@contact.test'), /^INBOX /);
  assert.equal((await newestVerdict(f, USER)).symbols.ALLOWLISTED !== undefined, true, 'the real CEO is allowed');
  const r = await outcome(BAD, 'a@attacker.test', 'ceo@contact.test, a@attacker.test', { key: attackerKey });
  assert.match(r, /dmarc=pass [^;]*header\.from=attacker\.test/);
  const { symbols } = await newestVerdict(f, USER);
  assert.equal(symbols.ALLOWLISTED, undefined, JSON.stringify(symbols));
  assert.equal(symbols.DMARC_PASS, undefined, JSON.stringify(symbols));
});

test('a From that mailauth reads otherwise than a mail client: the domain the reader sees is checked too', async () => {
  // RFC 5322 section 4.4 (obs-domain): "sender .test" is sender.test, which the IMAP ENVELOPE shows;
  // mailauth stops at "sender". A second angle-addr, or a second "@", hides the other domain from it.
  for (const from of ['bob@sender .test', '<a@other.test> Bob <bob@sender.test>', 'bob@sender.test@other.test']) {
    const r = await outcome(BAD, 'a@other.test', from);
    assert.match(r, /^550 5\.7\.1 DMARC policy of sender\.test rejects/, from);
  }
});

test('two From fields are refused; a From without a domain is dmarc=none, saying why', async () => {
  assert.match(
    await outcome(BAD, 'a@other.test', 'a@other.test', { extra: 'From: b@sender.test\r\n' }),
    /^550 5\.7\.1/,
  );
  assert.match(
    await outcome(BAD, 'a@other.test', 'undisclosed-recipients:;'),
    /^(INBOX|Junk) dmarc=none \(no author domain in From\)$/,
  );
});

test('organizational domain through the Public Suffix List, sp= for subdomains', async () => {
  assert.match(
    await outcome(BAD, 'a@sub.example.co.uk', 'a@sub.example.co.uk'),
    /^550 5\.7\.1 DMARC policy of sub\.example\.co\.uk rejects/,
  );
  assert.match(await outcome(BAD, 'a@other.test', 'a@sub.sp.test'), /^INBOX dmarc=fail .*policy\.dmarc=none/);
  assert.match(await outcome(BAD, 'a@other.test', 'a@sp.test'), /^550 5\.7\.1 DMARC policy of sp\.test rejects/);
});

test('an invalid p= is p=none with rua=, no DMARC without; two DMARC records are none (6.6.3)', async () => {
  assert.match(await outcome(BAD, 'a@other.test', 'a@badp.test'), /^INBOX dmarc=fail \(p=NONE/);
  assert.match(await outcome(BAD, 'a@other.test', 'a@badp-norua.test'), /^INBOX dmarc=none/);
  assert.match(await outcome(BAD, 'a@other.test', 'a@multi.test'), /^INBOX dmarc=none/);
});

test('aspf=s and adkim=s need the exact domain, relaxed takes the organizational domain', async () => {
  assert.match(await outcome(GOOD, 'b@mail.strict.test', 'a@strict.test'), /^550 5\.7\.1 DMARC policy of strict\.test/);
  assert.match(await outcome(GOOD, 'b@mail.relaxed.test', 'a@relaxed.test'), /^INBOX dmarc=pass/);
  assert.match(
    await outcome(BAD, 'a@other.test', 'a@sub.strict.test', { key: strictKey }),
    /^550 5\.7\.1 DMARC policy of sub\.strict\.test/,
  );
  assert.match(await outcome(BAD, 'a@other.test', 'a@sub.relaxed.test', { key: relaxedKey }), /^INBOX dmarc=pass/);
});

test('the From domain in upper case or with a trailing dot is the same domain', async () => {
  assert.match(
    await outcome(BAD, 'a@other.test', 'Bob <bob@SENDER.TEST>'),
    /^550 5\.7\.1 DMARC policy of sender\.test/,
  );
  assert.match(
    await outcome(BAD, 'a@other.test', 'Bob <bob@sender.test.>'),
    /^550 5\.7\.1 DMARC policy of sender\.test/,
  );
  assert.match(await outcome(BAD, 'a@other.test', '"a@other.test" <bob@sender.test>'), /^550 5\.7\.1/);
});

test('pct=: a message not sampled gets the next less strict policy (RFC 7489 6.6.4)', async () => {
  assert.match(await outcome(BAD, 'a@other.test', 'a@pct0.test'), /^Junk dmarc=fail/);
  assert.match(await outcome(BAD, 'a@other.test', 'a@qpct0.test'), /^INBOX dmarc=fail/);
  assert.match(await outcome(BAD, 'a@other.test', 'a@pct100.test'), /^550 5\.7\.1 DMARC policy of pct100\.test/);
});

test('DKIM keys that answer too late for the time budget: deferred, never delivered unchecked', async () => {
  // A spoof of a p=reject domain carrying signatures of the spoofer's own domain, whose nameserver never
  // answers for their keys: each lookup costs spam.dns_timeout_ms, together more than spam.timeout_ms.
  const slow = await startSpamWorld({
    zones: { '_dmarc.sender.test': { TXT: [['v=DMARC1; p=reject']] } },
    configure(c) {
      c.dns.timeout_ms = 5000;
      c.spam.dns_timeout_ms = 600;
      c.spam.timeout_ms = 1500;
    },
  });
  try {
    let data = message('Bob <bob@sender.test>', 'slow keys');
    for (let i = 0; i < 3; i++) {
      data = await sign(data, publishKey(slow, 'slow.attacker.test', `s${i}`));
      slow.dns.silent.add(`s${i}._domainkey.slow.attacker.test`);
    }
    const r = await transaction(slow.server.ports.smtp, {
      ip: BAD,
      helo: 'mail.attacker.test',
      from: 'x@attacker.test',
      to: [USER],
      data,
    });
    assert.equal(r.code, 451, r.raw);
    assert.match(r.raw, /^451 4\.7\.1 Sender authentication \(SPF, DKIM, DMARC\) did not finish in time/);
    for (const box of ['INBOX', 'Junk']) assert.equal((await mailbox(slow, USER, box)).length, 0, box);
    // The same slow keys on mail from a domain that asks for no DMARC policy: nothing to enforce, so the
    // timeout only degrades the verdict (a resolver of ours that stops answering must not hold all mail).
    let relaxed = message('Carol <carol@relaxed.test>', 'slow keys, no policy');
    for (let i = 0; i < 3; i++) relaxed = await sign(relaxed, publishKey(slow, 'slow.attacker.test', `s${i}`));
    const ok = await transaction(slow.server.ports.smtp, {
      ip: BAD,
      helo: 'mail.attacker.test',
      from: 'x@attacker.test',
      to: [USER],
      data: relaxed,
    });
    assert.equal(ok.code, 250, ok.raw);
    const [stored] = await mailbox(slow, USER, 'INBOX');
    assert.match(stored, /Authentication-Results: mx\.test\.petrel; none \(verification did not finish in time\)/);
  } finally {
    await slow.stop();
  }
});
