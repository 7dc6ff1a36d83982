// Link hosts as a browser reads them, over SMTP into the MX listener: each message's one link hides its
// host in a way a mail client's browser engine undoes (WHATWG URL parsing: C0 controls around an href,
// numeric IPv4 forms, userinfo, backslashes, percent-encoding, full-width letters, case, a trailing dot);
// the URI blocklist (the test's DNS server) must be asked about the host the reader would reach.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { message, newestVerdict, send, startSpamWorld, USER } from './fixture.ts';

let f: OutboundFixture;
before(async () => {
  f = await startSpamWorld({
    zones: {
      'evil.example.dbl.test': { A: ['127.0.1.2'] },
      // A site on a free host (the Public Suffix List's private section): the site is listed, never the host.
      'evil-login.github.io.dbl.test': { A: ['127.0.1.2'] },
      'secure-bank.web.app.dbl.test': { A: ['127.0.1.2'] },
      // 93.184.216.34 (1572395042, 0135.0270.0330.042), reversed as SURBL expects of an IP host.
      '34.216.184.93.dbl.test': { A: ['127.0.1.2'] },
    },
    configure(c) {
      c.spam.uribl.zones = ['dbl.test DBL 127.0.1.2:DBL_SPAM:6'];
      c.spam.reputation.enabled = false; // one sender, many listed messages: no refusal for its past
    },
  });
});
after(() => f?.stop());

/** Sends one HTML message whose only link is `href`; the DBL_SPAM score of its verdict. */
async function linkScore(href: string): Promise<number | undefined> {
  const body = `<p>Your account: <a href="${href}">sign in</a></p>\r\n`;
  const raw = message('news@sender.test', `link ${href.length}`, '', body).replace(
    'Content-Type: text/plain',
    'Content-Type: text/html; charset=utf-8',
  );
  const r = await send(f, { ip: '127.0.0.71', helo: 'mail.sender.test', from: 'news@sender.test', raw });
  assert.ok(r.ok, r.response);
  return (await newestVerdict(f, USER)).symbols.DBL_SPAM;
}

test('C0 controls around an href are stripped as the URL parser strips them', async () => {
  // WHATWG URL Standard, basic URL parser: leading and trailing C0 control or space are removed first,
  // so a browser follows "\x01http://evil.example/" (HTML keeps the U+0001 of "&#1;") to evil.example.
  for (const href of [
    '&#1;http://evil.example/login',
    '&#x1f;&#x8;https://evil.example/',
    'http://evil.example/&#x1b;',
  ])
    assert.equal(await linkScore(href), 6, href);
});

test('hosts in the forms a browser reads: numeric IPv4, userinfo, backslash, escapes, width, case, dot', async () => {
  for (const href of [
    'http://1572395042/',
    'http://0135.0270.0330.042/x',
    'http://paypal.com@evil.example/',
    'http:\\\\evil.example\\login',
    'http://%65vil.example/',
    'http://ｅｖｉｌ.example/',
    'HTTP://WWW.EVIL.EXAMPLE./',
  ])
    assert.equal(await linkScore(href), 6, href);
});

test('a subdomain label hostnames may not have (hyphen at an edge) still leads to the listed domain', async () => {
  // A wildcard record of evil.example answers for any name under it, and browsers follow such links; only
  // the registered domain is the blocklist's business, whatever the labels in front of it look like.
  for (const href of ['http://-secure.evil.example/', 'http://login-.evil.example/', 'http://a--.b-.evil.example/x'])
    assert.equal(await linkScore(href), 6, href);
});

test('a link through an open redirector is looked up with the URL it redirects to', async () => {
  // SpamAssassin's redirector_pattern (google.com/url?q=, ?URL=, redirect.php?goto=): the redirector is
  // innocent, the page it sends the reader on to is what a blocklist lists.
  for (const href of [
    'https://www.google.com/url?q=https://evil.example/pay&amp;sa=D',
    'http://click.tracker.test/r?id=7&amp;url=https%3A%2F%2Fevil.example%2Fx',
    'http://www.forum.test/redirect.php?goto=http://1572395042/',
  ])
    assert.equal(await linkScore(href), 6, href);
});

test('links a reader follows are looked up before images: max_domains is not filled by 30 image hosts', async () => {
  // SpamAssassin's URIDNSBL looks up the domains of <a href> first when a message has more than
  // uridnsbl_max_domains; an image loads by itself, a link is what the message asks the reader to open.
  const images = Array.from({ length: 30 }, (_, i) => `<img src="http://img${i}.pixels${i}.test/p.gif" width="1">`);
  const body = `<p>${images.join('')}</p><p><a href="http://evil.example/claim">Claim your prize</a></p>\r\n`;
  const raw = message('news@sender.test', 'images first', '', body).replace(
    'Content-Type: text/plain',
    'Content-Type: text/html; charset=utf-8',
  );
  const r = await send(f, { ip: '127.0.0.71', helo: 'mail.sender.test', from: 'news@sender.test', raw });
  assert.ok(r.ok, r.response);
  assert.equal((await newestVerdict(f, USER)).symbols.DBL_SPAM, 6);
});

test('a From or Reply-To naming 25 domains does not push the links out of max_domains', async () => {
  const many = Array.from({ length: 25 }, (_, i) => `desk@office${i}.test`).join(', ');
  const raw = message('news@sender.test', 'many senders', `Reply-To: ${many}\r\n`, 'Go to http://evil.example/x\r\n');
  const r = await send(f, { ip: '127.0.0.71', helo: 'mail.sender.test', from: 'news@sender.test', raw });
  assert.ok(r.ok, r.response);
  assert.equal((await newestVerdict(f, USER)).symbols.DBL_SPAM, 6);
});

test("the domain of an address the body gives for replies is looked up too (rspamd's emails check)", async () => {
  const body = 'No link needed: write to claims.desk@evil.example with your bank details.\r\n';
  const r = await send(f, {
    ip: '127.0.0.71',
    helo: 'mail.sender.test',
    from: 'news@sender.test',
    raw: message('news@sender.test', 'address only', '', body),
  });
  assert.ok(r.ok, r.response);
  assert.equal((await newestVerdict(f, USER)).symbols.DBL_SPAM, 6);
});

test('links to private and loopback addresses are not looked up (they tell the list our network)', async () => {
  // SpamAssassin's URIDNSBL looks an IP host up "only if it is public": an intranet link in a message
  // would tell the list's operator the layout of our network, and no public list lists such an address.
  const before = f.dns.queries.length;
  for (const href of ['http://10.1.2.3/intranet', 'http://0x7f000001/', 'http://192.168.1.1/', 'http://[fd00::1]/'])
    assert.equal(await linkScore(href), undefined, href);
  const asked = f.dns.queries.slice(before).filter((q) => q.endsWith('.dbl.test'));
  assert.deepEqual(
    asked.filter((q) => /^A [\d.]+\.dbl\.test$/.test(q)),
    [],
    asked.join('\n'),
  );
});

test('a site on a free host is looked up as the site, not the host (github.io, web.app)', async () => {
  // The Public Suffix List's private section, as rspamd's 2tld list and SURBL's two-level-tlds: lists
  // list evil-login.github.io, never github.io, so asking about github.io finds nothing.
  for (const href of ['https://evil-login.github.io/office365/', 'https://www.secure-bank.web.app/login'])
    assert.equal(await linkScore(href), 6, href);
});
