// Phishing and header symbols on legitimate mail that looks like an attack to a naive check, each beside
// the attack it must still catch, over the wire (nodemailer from 127.0.0.46 into the MX listener of a
// Petrel hosting example.com); each test asserts on the verdict stored with the message.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FakeMta } from '../helpers/fake-mta.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { message, newestVerdict, send, startSpamWorld, submit, USER, verdictSymbols } from './fixture.ts';

let f: OutboundFixture;
let list: FakeMta;
before(async () => {
  f = await startSpamWorld({
    zones: {
      'lists.remote.test': { MX: [{ preference: 10, exchange: 'mx.lists.remote.test' }] },
      'mx.lists.remote.test': { A: ['127.0.0.2'] },
    },
    hosts: ['127.0.0.2'],
    configure(c) {
      c.listeners.submission.enabled = true;
      // An operator listing an open shortener under a brand: it must not excuse links through it.
      c.spam.phishing.protected_brands = [...c.spam.phishing.protected_brands, 'linkedin=linkedin.com,lnkd.in'];
    },
    beforeServe: async (app) => {
      await app.directory.addAccount('bob@example.com', 'secret-pw');
    },
  });
  list = await f.mta('127.0.0.2');
});
after(() => f?.stop());

let n = 0;
async function deliver(
  from: string,
  envelope: string,
  opts: { headers?: string; html?: string; subject?: string } = {},
) {
  n++;
  let raw = message(from, opts.subject ?? `hello ${n}`, opts.headers ?? '', `${opts.html ?? `Hello (${n}).`}\r\n`);
  if (opts.html) raw = raw.replace('Content-Type: text/plain', 'Content-Type: text/html; charset=utf-8');
  const r = await send(f, { ip: '127.0.0.46', helo: 'mail.sender.test', from: envelope, raw });
  assert.ok(r.ok, r.response);
  return verdictSymbols(f, USER);
}

test('local impersonation: a whole domain name of ours, not the letters of one', async () => {
  const own = await deliver('"myexample.com Newsletter" <news@myexample.com>', 'news@myexample.com');
  assert.ok(!('PHISH_LOCAL_IMPERSONATION' in own), `must not fire: ${JSON.stringify(own)}`);
  const attack = await deliver('"example.com IT Desk" <it@myexample.com>', 'it@myexample.com');
  assert.equal(attack.PHISH_LOCAL_IMPERSONATION, 5, `still fires: ${JSON.stringify(attack)}`);
  const sub = await deliver('"it@mail.example.com" <it@elsewhere.test>', 'it@elsewhere.test');
  assert.equal(sub.PHISH_LOCAL_IMPERSONATION, 5, `a name under ours: ${JSON.stringify(sub)}`);
});

test("a mailing list's From rewrite (\"'bob@gmail.com' via Friends\") is not PHISH_DISPLAY_ADDRESS", async () => {
  const from = '"\'bob@gmail.com\' via Friends" <friends@googlegroups.com>';
  const viaList = await deliver(from, 'friends+bncBx@googlegroups.com', {
    headers: 'List-Id: <friends.googlegroups.com>\r\nList-Post: <mailto:friends@googlegroups.com>\r\n',
  });
  assert.ok(!('PHISH_DISPLAY_ADDRESS' in viaList), `must not fire: ${JSON.stringify(viaList)}`);
  const attack = await deliver('"support@bank.test" <x@elsewhere.test>', 'x@elsewhere.test');
  assert.equal(attack.PHISH_DISPLAY_ADDRESS, 3, `still fires: ${JSON.stringify(attack)}`);
});

test("a brand's mail from its national domains is not brand impersonation (default config)", async () => {
  for (const [from, env] of [
    ['"PayPal" <service@paypal.de>', 'bounce@paypal.de'],
    ['"PayPal" <service@paypal.co.uk>', 'bounce@paypal.co.uk'],
    ['"Microsoft Online Services Team" <msonlineservicesteam@microsoftonline.com>', 'b@microsoftonline.com'],
  ]) {
    const s = await deliver(from, env);
    assert.ok(!('PHISH_BRAND_IMPERSONATION' in s), `must not fire, ${from}: ${JSON.stringify(s)}`);
  }
  for (const [from, env] of [
    ['"PayPal" <service@paypal.evil.test>', 'b@paypal.evil.test'],
    ['"PayPal Service" <service@paypal-secure.test>', 'b@paypal-secure.test'],
  ]) {
    const s = await deliver(from, env);
    assert.equal(s.PHISH_BRAND_IMPERSONATION, 5, `still fires, ${from}: ${JSON.stringify(s)}`);
  }
});

test('a brand spelt with look-alike letters or with its company form in the display name is still claimed', async () => {
  // "PayPaI" (a capital I), "Arnazon" (r n), "App1e" (a digit), "Netflіx" (Cyrillic i), and the name
  // as the company signs ("PayPal, Inc.", "Apple Inc."): each a brand claimed from elsewhere.
  for (const from of [
    '"PayPaI Service" <service@pp-billing.test>',
    '"Arnazon.com" <orders@shop-notice.test>',
    '"App1e Support" <id@apple-care.test>',
    '"Netflіx" <info@account-hold.test>',
    '"PayPal, Inc." <service@pp-billing.test>',
    '"Apple Inc." <id@apple-care.test>',
  ]) {
    const s = await deliver(from, from.replace(/^.*<|>$/g, ''));
    assert.equal(s.PHISH_BRAND_IMPERSONATION, 5, `${from}: ${JSON.stringify(s)}`);
  }
  // Ordinary names that only look like a brand to a skeleton ("Appie", Albert Heijn's app) or mention one.
  for (const from of [
    '"Appie" <noreply@ah.test>',
    '"Apple Pie Recipes" <news@recipes.test>',
    '"Paypal" <service@paypal.com>',
  ]) {
    const s = await deliver(from, from.replace(/^.*<|>$/g, ''));
    assert.ok(!('PHISH_BRAND_IMPERSONATION' in s), `${from}: ${JSON.stringify(s)}`);
  }
});

test('link mismatch: an invisible zero-width space or a trailing full stop does not hide the shown domain', async () => {
  for (const text of ['www.paypal.com', 'www.paypal&#8203;.com', 'www.paypal.com.']) {
    const s = await deliver('"Service" <service@notify.test>', 'service@notify.test', {
      html: `<p>Log in at <a href="https://login.evil.test/">${text}</a> (${text.length})</p>`,
    });
    assert.equal(s.PHISH_LINK_MISMATCH, 3, `${text}: ${JSON.stringify(s)}`);
  }
});

test("link text on one of a brand's domains going to another of its domains is not a mismatch", async () => {
  const own = await deliver(
    '"Microsoft" <account-security-noreply@accountprotection.microsoft.com>',
    'b@microsoft.com',
    {
      html: '<p>Read your mail at <a href="https://outlook.live.com/mail/0/">outlook.com</a></p>',
    },
  );
  assert.ok(!('PHISH_LINK_MISMATCH' in own), `must not fire: ${JSON.stringify(own)}`);
  const attack = await deliver('"Mail" <noreply@notify.test>', 'noreply@notify.test', {
    html: '<p>Read your mail at <a href="https://outlook.live.com.evil.test/mail/">outlook.com</a></p>',
  });
  assert.equal(attack.PHISH_LINK_MISMATCH, 3, `still fires: ${JSON.stringify(attack)}`);
});

test('links rewritten by Safe Links or URL Defense are judged by their target', async () => {
  const original = 'https://www.google.com/maps/place/Berlin';
  const safe = (to: string) =>
    `https://nam02.safelinks.protection.outlook.com/?url=${encodeURIComponent(to)}&amp;data=05%7C01&amp;reserved=0`;
  for (const href of [safe(original), `https://urldefense.com/v3/__${original}__;!!ABC!xyz$`]) {
    const s = await deliver('"Bob Jones" <bob@corp.test>', 'bob@corp.test', {
      html: `<p>FYI (${href.length}).</p><blockquote>Venue: <a href="${href}">${original}</a></blockquote>`,
    });
    assert.ok(!('PHISH_LINK_MISMATCH' in s), `must not fire, ${href}: ${JSON.stringify(s)}`);
  }
  const attack = await deliver('"Bob Jones" <bob@corp.test>', 'bob@corp.test', {
    html: `<p>Sign in at <a href="${safe('https://login.evil.test/')}">www.google.com</a></p>`,
  });
  assert.equal(attack.PHISH_LINK_MISMATCH, 3, `still fires: ${JSON.stringify(attack)}`);
});

const encoded = (s: string) => `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`;

test('a Subject naming units with Greek letters is no word in disguise; look-alike letters still are', async () => {
  for (const subject of ['Vitamin D3 25μg: 20% off this week', 'Your order: 100 x resistor 10kΩ']) {
    const s = await deliver('"Shop" <orders@shop.test>', 'orders@shop.test', { subject: encoded(subject) });
    assert.ok(!('PHISH_MIXED_SCRIPT_TEXT' in s), `must not fire, ${subject}: ${JSON.stringify(s)}`);
  }
  const attack = await deliver('"Shop" <orders@shop.test>', 'orders@shop.test', {
    subject: encoded('Your Pаypal account'),
  });
  assert.equal(attack.PHISH_MIXED_SCRIPT_TEXT, 3, `still fires: ${JSON.stringify(attack)}`);
});

// A local user's post comes back from a mailing list at another server: the Received field our submission
// added ("by mx.test.petrel (Petrel) ... authenticated as") is ours, as our DKIM signature shows.
test("a local user's post redistributed by a mailing list is no forged local Received; a forgery is", async () => {
  const key = await f.app.dkim.generate('example.com', { algorithm: 'rsa', selector: 'fp' });
  f.dns.set('fp._domainkey.example.com', { TXT: [key.record.match(/.{1,255}/g)!] });
  const raw = message(USER, 'meeting notes').replace(`To: ${USER}`, 'To: team@lists.remote.test');
  const r = await submit(f, { to: ['team@lists.remote.test'], raw });
  assert.ok(r.ok, r.response);
  await waitFor(() => list.received().length === 1, 15000, 'the post reaching the list server');
  const posted = list.received()[0].data.toString('utf8');
  assert.match(posted, /by mx\.test\.petrel \(Petrel\)/, 'our own trace field of the submission');
  assert.match(posted, /DKIM-Signature: .*d=example\.com/s);
  const hop = (host: string) =>
    `Received: from mail.${host} ([127.0.0.2]) by mx.${host} with ESMTP id L1;\r\n ${new Date().toUTCString().replace('GMT', '+0000')}\r\n`;
  const listHeaders = 'List-Id: Team <team.lists.remote.test>\r\nList-Post: <mailto:team@lists.remote.test>\r\n';
  const relay = (data: string) =>
    send(f, {
      ip: '127.0.0.2',
      helo: 'mx.lists.remote.test',
      from: 'team-bounces@lists.remote.test',
      to: ['bob@example.com'],
      raw: data,
    });
  const back = await relay(hop('lists.remote.test') + listHeaders + posted);
  assert.ok(back.ok, back.response);
  const ours = (await newestVerdict(f, 'bob@example.com')).symbols;
  assert.ok(!('HDR_RECEIVED_FORGED_LOCAL' in ours), `must not fire: ${JSON.stringify(ours)}`);
  // The same shape without our signature: a forger's own hop above his "by mx.test.petrel" field.
  const unsigned = posted.replace(/^DKIM-Signature:.*?\r\n(?![ \t])/ms, '');
  const forged = await relay(hop('evil.test') + unsigned.replace('meeting notes', 'urgent transfer'));
  assert.ok(forged.ok, forged.response);
  const symbols = (await newestVerdict(f, 'bob@example.com')).symbols;
  assert.equal(symbols.HDR_RECEIVED_FORGED_LOCAL, 4, `still fires: ${JSON.stringify(symbols)}`);
});

test("link mismatch: a brand's national domain, an address as link text; a name under another TLD still fires", async () => {
  // "www.paypal.com" linking to paypal.co.uk: one brand (spam.phishing.protected_brands).
  const national = await deliver('"Shop" <news@shop.test>', 'news@shop.test', {
    html: '<p>Pay with <a href="https://www.paypal.co.uk/uk/home">www.paypal.com</a></p>',
  });
  assert.ok(!('PHISH_LINK_MISMATCH' in national), `must not fire: ${JSON.stringify(national)}`);
  // An address as the text of a tracked link shows no site ("write to help@paypal.com").
  const address = await deliver('"Shop" <news@shop.test>', 'news@shop.test', {
    html: '<p>Questions? <a href="https://t.shop-mailer.test/c/abc">help@paypal.com</a></p>',
  });
  assert.ok(!('PHISH_LINK_MISMATCH' in address), `must not fire: ${JSON.stringify(address)}`);
  // paypal.com written in front of another name: www.paypal.com.evil is evil's (whatever its suffix).
  for (const href of ['https://www.paypal.com.evil/login', 'https://www.paypal.com.evil.test/login']) {
    const s = await deliver('"Service" <service@notify.test>', 'service@notify.test', {
      html: `<p>Log in at <a href="${href}">paypal.com</a></p>`,
    });
    assert.equal(s.PHISH_LINK_MISMATCH, 3, `${href}: ${JSON.stringify(s)}`);
  }
});

test('link mismatch: a shown domain in brackets, quotes or angle brackets is still the shown domain', async () => {
  for (const text of ['[www.paypal.com]', '(www.paypal.com)', '&lt;https://www.paypal.com/&gt;', '"paypal.com"']) {
    const s = await deliver('"Service" <service@notify.test>', 'service@notify.test', {
      html: `<p>Log in at <a href="https://login.evil.test/">${text}</a> (${text.length})</p>`,
    });
    assert.equal(s.PHISH_LINK_MISMATCH, 3, `${text}: ${JSON.stringify(s)}`);
  }
});

test("link mismatch: a brand's own short-link domain is the brand's; an open shortener is nobody's", async () => {
  // amzn.to and aka.ms only ever lead to Amazon's and Microsoft's sites: one brand with them.
  for (const [text, href] of [
    ['amazon.com', 'https://amzn.to/3xYzAbc'],
    ['www.microsoft.com', 'https://aka.ms/mfasetup'],
  ]) {
    const s = await deliver('"Shop" <news@shop.test>', 'news@shop.test', {
      html: `<p>See <a href="${href}">${text}</a></p>`,
    });
    assert.ok(!('PHISH_LINK_MISMATCH' in s), `must not fire, ${text} -> ${href}: ${JSON.stringify(s)}`);
  }
  // The brand's short link shown while the link goes elsewhere is a brand domain shown: a mismatch. A brand
  // shown while the link goes through an open shortener (which leads anywhere) is one too, even when the
  // operator listed the shortener under the brand (linkedin=linkedin.com,lnkd.in in this world's config).
  for (const [text, href] of [
    ['amzn.to/3xYzAbc', 'https://login.evil.test/'],
    ['aka.ms/mfasetup', 'https://login.evil.test/'],
    ['amazon.com', 'https://bit.ly/3abcDEF'],
    ['www.linkedin.com', 'https://lnkd.in/eAbCdEf'],
    ['linkedin.com', 'https://t.co/AbCdEf'],
  ]) {
    const s = await deliver('"Service" <service@notify.test>', 'service@notify.test', {
      html: `<p>Sign in at <a href="${href}">${text}</a></p>`,
    });
    assert.equal(s.PHISH_LINK_MISMATCH, 3, `${text} -> ${href}: ${JSON.stringify(s)}`);
  }
});
