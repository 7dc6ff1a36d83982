// MAIL FROM and From domains that cannot take mail (spam.sender_domain, as Postfix's
// reject_unknown_sender_domain), over the MX listener with the senders' DNS in the test's own server:
// a domain with an MX or only an address passes; one that does not exist, a null MX (RFC 7505) or a domain
// with neither MX nor address records scores; with `reject`, the first two are refused at the end of data.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { mailbox, message, send, startSpamWorld, USER, verdictSymbols } from './fixture.ts';

const ZONES = {
  'good.test': { MX: [{ preference: 10, exchange: 'mx.good.test' }] },
  'mx.good.test': { A: ['192.0.2.10'] },
  'aonly.test': { A: ['192.0.2.11'] },
  'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
  'txtonly.test': { TXT: [['v=spf1 -all']] },
};

let f: OutboundFixture;
let strict: OutboundFixture;

before(async () => {
  f = await startSpamWorld({ zones: ZONES, configure: (c) => (c.spam.sender_domain.enabled = true) });
  strict = await startSpamWorld({
    zones: ZONES,
    configure: (c) => {
      c.spam.sender_domain.enabled = true;
      c.spam.sender_domain.reject = true;
    },
  });
});

after(async () => {
  await f?.stop();
  await strict?.stop();
});

/** Sends from `mailFrom` with a From header of `from` and returns the verdict's sender-domain symbols. */
async function symbolsFor(mailFrom: string, from: string): Promise<Record<string, number>> {
  const r = await send(f, {
    ip: '127.0.0.5',
    helo: 'mail.good.test',
    from: mailFrom,
    raw: message(from, `from ${from}`),
  });
  assert.ok(r.ok, r.response);
  const all = await verdictSymbols(f, USER);
  return Object.fromEntries(Object.entries(all).filter(([k]) => /^(SENDER|FROM)_DOMAIN_/.test(k)));
}

test('domains that take mail pass: an MX, or only an address (the implicit MX); our own domain is not looked up', async () => {
  assert.deepEqual(await symbolsFor('a@good.test', 'a@good.test'), {});
  assert.deepEqual(await symbolsFor('a@aonly.test', 'a@aonly.test'), {});
  const before = f.dns.queries.length;
  assert.deepEqual(await symbolsFor('a@good.test', 'someone@example.com'), {});
  assert.ok(!f.dns.queries.slice(before).some((q) => q.endsWith(' example.com')), 'no lookup of a local domain');
});

test('no such domain, a null MX, neither MX nor address: scored, for MAIL FROM and From apart', async () => {
  assert.deepEqual(await symbolsFor('a@nowhere.test', 'a@nowhere.test'), { SENDER_DOMAIN_NXDOMAIN: 4 });
  assert.deepEqual(await symbolsFor('a@nullmx.test', 'a@good.test'), { SENDER_DOMAIN_NULL_MX: 4 });
  assert.deepEqual(await symbolsFor('a@good.test', 'a@txtonly.test'), { FROM_DOMAIN_NO_MAIL: 2 });
  assert.deepEqual(await symbolsFor('a@txtonly.test', 'a@nowhere.test'), {
    SENDER_DOMAIN_NO_MAIL: 2,
    FROM_DOMAIN_NXDOMAIN: 4,
  });
});

test('a failing DNS server says nothing about the sender', async () => {
  f.dns.failing.add('broken.test');
  assert.deepEqual(await symbolsFor('a@broken.test', 'a@broken.test'), {});
});

/** One message into the strict server from `mailFrom` ('' is the null reverse-path) with From `from`. */
const sendStrict = (mailFrom: string, from: string, subject: string) =>
  send(strict, { ip: '127.0.0.5', helo: 'mail.good.test', from: mailFrom, raw: message(from, subject) });

test('with reject: a MAIL FROM domain that does not exist or has a null MX is refused with 550 5.7.1', async () => {
  const refused = await sendStrict('a@nowhere.test', 'a@nowhere.test', 'refused');
  assert.equal(refused.code, 550);
  assert.match(refused.response, /5\.7\.1 .*MAIL FROM domain nowhere\.test does not exist/);
  const nullMx = await sendStrict('a@nullmx.test', 'a@good.test', 'null');
  assert.equal(nullMx.code, 550);
  // The null reverse-path (a bounce) is never looked up; NO_MAIL only scores.
  const bounce = await sendStrict('', 'a@good.test', 'bounce');
  assert.ok(bounce.ok, bounce.response);
  const noMail = await sendStrict('a@txtonly.test', 'a@good.test', 'no mail');
  assert.ok(noMail.ok, noMail.response);
  // Both delivered: the bounce scored nothing here, the other NO_MAIL (with SPF -all it goes to Junk).
  const status = [...(await mailbox(strict, USER, 'INBOX')), ...(await mailbox(strict, USER, 'Junk'))].map(
    (m) => /X-Spam-Status: [^\r]*\r\n\t([^\r]*)/.exec(m)?.[1] ?? '',
  );
  assert.equal(status.length, 2);
  assert.equal(status.filter((t) => /SENDER_DOMAIN_/.test(t)).length, 1);
  assert.ok(status.some((t) => /SENDER_DOMAIN_NO_MAIL=2/.test(t)));
});
