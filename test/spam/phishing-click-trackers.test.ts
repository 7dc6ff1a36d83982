// PHISH_LINK_MISMATCH on a brand's own newsletter sent through a click tracker (SendGrid, Mailchimp,
// Salesforce Marketing Cloud): the link text shows the brand's site, the link goes to the tracker. When the
// From domain is authenticated (DMARC pass, a DKIM signature of its own domain that passes, or a trusted
// ARC sealer that saw DMARC pass before a list changed the message) and the text shows that same domain,
// it is the author's own site: no mismatch. A spoof of the From, a signature of another domain, an address
// at a free mail provider, or a sender showing someone else's domain through the same tracker still scores.
// Over the wire: nodemailer from 127.0.0.x into the MX listener, the senders' records in the test's DNS.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sealMessage } from 'mailauth';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { message, publishKey, send, sign, startSpamWorld, type TestKey, USER, verdictSymbols } from './fixture.ts';

let f: OutboundFixture;
let paypal: TestKey;
let paypalDe: TestKey;
let evil: TestKey;
let gmail: TestKey;
let outlook: TestKey;
let forwarder: TestKey;
let otherList: TestKey;

before(async () => {
  f = await startSpamWorld({
    zones: {
      // paypal.com: 127.0.0.47 may send; DMARC p=none, so that a spoof is delivered and its verdict stored.
      'paypal.com': { TXT: [['v=spf1 ip4:127.0.0.47 -all']] },
      '_dmarc.paypal.com': { TXT: [['v=DMARC1; p=none']] },
      // paypal.de publishes no SPF and no DMARC record: only its DKIM signature authenticates it.
      // evil.test authenticates perfectly: SPF, DKIM and DMARC of its own.
      'evil.test': { TXT: [['v=spf1 ip4:127.0.0.49 -all']] },
      '_dmarc.evil.test': { TXT: [['v=DMARC1; p=reject']] },
      // Free mail providers (spam.headers.freemail_domains): anyone can have an authenticated address there.
      'gmail.com': { TXT: [['v=spf1 ip4:127.0.0.50 -all']] },
      '_dmarc.gmail.com': { TXT: [['v=DMARC1; p=none']] },
      'outlook.com': { TXT: [['v=spf1 ip4:127.0.0.50 -all']] },
      '_dmarc.outlook.com': { TXT: [['v=DMARC1; p=none']] },
    },
    configure(c) {
      c.spam.auth.arc_trusted_sealers = ['forwarder.test'];
    },
  });
  paypal = publishKey(f, 'paypal.com', 's1');
  paypalDe = publishKey(f, 'news.paypal.de', 's1');
  evil = publishKey(f, 'evil.test', 's1');
  gmail = publishKey(f, 'gmail.com', 's1');
  outlook = publishKey(f, 'outlook.com', 's1');
  forwarder = publishKey(f, 'forwarder.test', 'arc');
  otherList = publishKey(f, 'other-list.test', 'arc');
});
after(() => f?.stop());

const TRACKERS = [
  'https://u123.ct.sendgrid.net/ls/click?upn=abc123-2Bdef&amp;x=1',
  'https://paypal.us4.list-manage.com/track/click?u=0a1b2c&amp;id=3d4e5f&amp;e=6a7b8c',
  'https://cl.exct.net/?qs=8f0e1d',
  'https://click.s10.exacttarget.com/?qs=8f0e1d2c',
];

let n = 0;
/** Delivers an HTML newsletter and returns its stored verdict's symbols. */
async function deliver(o: { from: string; ip: string; envelope: string; html: string; key?: TestKey }) {
  n++;
  let raw = message(o.from, `Your news ${n}`, '', `${o.html}\r\n`).replace(
    'Content-Type: text/plain',
    'Content-Type: text/html; charset=utf-8',
  );
  if (o.key) raw = await sign(raw, o.key);
  const r = await send(f, { ip: o.ip, helo: 'mail.sender.test', from: o.envelope, raw });
  assert.ok(r.ok, r.response);
  return verdictSymbols(f, USER);
}

const shown = (href: string, text: string) => `<p>News (${n}). Visit <a href="${href}">${text}</a> today.</p>`;

test("an authenticated brand's newsletter showing its own site through a click tracker is no mismatch", async () => {
  for (const href of TRACKERS) {
    // SPF, DKIM and DMARC pass for paypal.com.
    const s = await deliver({
      from: '"PayPal" <news@paypal.com>',
      ip: '127.0.0.47',
      envelope: 'bounce@paypal.com',
      key: paypal,
      html: shown(href, 'www.paypal.com'),
    });
    assert.equal(s.DMARC_PASS, -1, JSON.stringify(s));
    assert.ok(!('PHISH_LINK_MISMATCH' in s), `${href}: ${JSON.stringify(s)}`);
  }
  // No DMARC record, no SPF: a passing DKIM signature of the From domain itself (relaxed alignment, RFC 7489
  // section 3.1.1: news.paypal.de signs for paypal.de) authenticates the author; the text names a brand sibling.
  for (const text of ['https://www.paypal.de/signin', 'paypal.com']) {
    const s = await deliver({
      from: '"PayPal" <news@paypal.de>',
      ip: '127.0.0.48',
      envelope: 'bounce@paypal.de',
      key: paypalDe,
      html: shown(TRACKERS[0], text),
    });
    assert.equal(s.DKIM_PASS, -0.5, JSON.stringify(s));
    assert.ok(!('DMARC_PASS' in s), JSON.stringify(s));
    assert.ok(!('PHISH_LINK_MISMATCH' in s), `${text}: ${JSON.stringify(s)}`);
  }
});

test('a spoofed or merely signed-by-someone-else From still scores the mismatch through the tracker', async () => {
  const html = shown(TRACKERS[0], 'www.paypal.com');
  // From paypal.com from a host SPF does not allow, unsigned: DMARC fails.
  const spoof = await deliver({ from: '"PayPal" <news@paypal.com>', ip: '127.0.0.48', envelope: 'x@paypal.com', html });
  assert.equal(spoof.DMARC_FAIL, 3, JSON.stringify(spoof));
  assert.equal(spoof.PHISH_LINK_MISMATCH, 3, `spoof: ${JSON.stringify(spoof)}`);
  // The same, signed by evil.test (a valid signature, but not the author's domain): DMARC still fails.
  const signed = await deliver({
    from: '"PayPal" <news@paypal.com>',
    ip: '127.0.0.49',
    envelope: 'x@evil.test',
    key: evil,
    html,
  });
  assert.equal(signed.DKIM_PASS, -0.5, JSON.stringify(signed));
  assert.equal(signed.PHISH_LINK_MISMATCH, 3, `signed by another domain: ${JSON.stringify(signed)}`);
  // evil.test authenticated (a compromised ESP account sends for itself), showing paypal.com via the tracker.
  const own = await deliver({
    from: '"Billing" <billing@evil.test>',
    ip: '127.0.0.49',
    envelope: 'b@evil.test',
    key: evil,
    html,
  });
  assert.equal(own.DMARC_PASS, -1, JSON.stringify(own));
  assert.equal(own.PHISH_LINK_MISMATCH, 3, `another author: ${JSON.stringify(own)}`);
  // Authenticated paypal.com showing another brand's site through the tracker: not its own site.
  const other = await deliver({
    from: '"PayPal" <news@paypal.com>',
    ip: '127.0.0.47',
    envelope: 'bounce@paypal.com',
    key: paypal,
    html: shown(TRACKERS[0], 'www.apple.com'),
  });
  assert.equal(other.DMARC_PASS, -1, JSON.stringify(other));
  assert.equal(other.PHISH_LINK_MISMATCH, 3, `another brand's site: ${JSON.stringify(other)}`);
});

test("an authenticated address at a free mail provider does not vouch for the provider's (or its brand's) site", async () => {
  // Anyone can sign up: DMARC passes for gmail.com and outlook.com, yet the sender is not the provider.
  for (const [from, key, text] of [
    ['"Google Accounts" <verify.account.team@gmail.com>', gmail, 'accounts.gmail.com'],
    ['"Microsoft" <account-team-2026@outlook.com>', outlook, 'www.outlook.com'],
    ['"Microsoft" <account-team-2026@outlook.com>', outlook, 'login.microsoftonline.com'],
  ] as const) {
    const s = await deliver({
      from,
      ip: '127.0.0.50',
      envelope: from.replace(/^.*<|>$/g, ''),
      key,
      html: shown(TRACKERS[0], text),
    });
    assert.equal(s.DMARC_PASS, -1, JSON.stringify(s));
    assert.equal(s.PHISH_LINK_MISMATCH, 3, `${from}, ${text}: ${JSON.stringify(s)}`);
  }
});

test("a newsletter a trusted ARC sealer saw pass DMARC is the author's, after the list broke its signature", async () => {
  /** The signed newsletter, its Subject changed by a list (the DKIM signature breaks) and sealed by it. */
  const viaList = async (sealer: TestKey) => {
    n++;
    const subject = `Your news ${n}`;
    const html = shown(TRACKERS[0], 'www.paypal.com');
    const raw = message('"PayPal" <news@paypal.com>', subject, '', `${html}\r\n`).replace(
      'Content-Type: text/plain',
      'Content-Type: text/html; charset=utf-8',
    );
    const changed = (await sign(raw, paypal)).replace(`Subject: ${subject}`, `Subject: [list] ${subject}`);
    const seal = await sealMessage(Buffer.from(changed), {
      signingDomain: sealer.domain,
      selector: sealer.selector,
      privateKey: sealer.privateKey,
      authResults: `lists.${sealer.domain}; dkim=pass header.d=paypal.com; dmarc=pass header.from=paypal.com`,
      cv: 'none',
    });
    const r = await send(f, {
      ip: '127.0.0.40',
      helo: `lists.${sealer.domain}`,
      from: `list@${sealer.domain}`,
      raw: seal.toString() + changed,
    });
    assert.ok(r.ok, r.response);
    return verdictSymbols(f, USER);
  };
  const trusted = await viaList(forwarder);
  assert.equal(trusted.ARC_TRUSTED, -1, JSON.stringify(trusted));
  assert.ok(!('PHISH_LINK_MISMATCH' in trusted), `trusted sealer: ${JSON.stringify(trusted)}`);
  // Anyone can seal: a sealer not in spam.auth.arc_trusted_sealers vouches for nothing.
  const other = await viaList(otherList);
  assert.equal(other.DMARC_FAIL, 3, JSON.stringify(other));
  assert.equal(other.PHISH_LINK_MISMATCH, 3, `untrusted sealer: ${JSON.stringify(other)}`);
});
