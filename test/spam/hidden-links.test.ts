// Links written the way a browser-based mail client still opens them, over the wire (nodemailer from
// 127.0.0.46 into the MX listener; the test's DNS serves a URI blocklist): a tab or newline inside the
// scheme (the WHATWG URL parser removes them), HTML5 named character references (&colon;, &period;), and a
// link rewritten by Microsoft Safe Links, whose target is looked up too. Each beside the plain spelling.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { message, send, startSpamWorld, USER, verdictSymbols } from './fixture.ts';

let f: OutboundFixture;
before(async () => {
  f = await startSpamWorld({
    zones: { 'evil.example.dbl.test': { A: ['127.0.1.2'] } },
    configure(c) {
      c.spam.uribl.zones = ['dbl.test DBL:4'];
    },
  });
});
after(() => f?.stop());

let n = 0;
async function html(body: string): Promise<Record<string, number>> {
  n++;
  const raw = message('News <news@sender.test>', `notice ${n}`, '', `<p>Notice ${n}.</p>${body}\r\n`).replace(
    'Content-Type: text/plain',
    'Content-Type: text/html; charset=utf-8',
  );
  const r = await send(f, { ip: '127.0.0.46', helo: 'mail.sender.test', from: 'news@sender.test', raw });
  assert.ok(r.ok, r.response);
  return verdictSymbols(f, USER);
}

test('a plain href to the listed domain scores', async () => {
  const s = await html('<p><a href="https://login.evil.example/account">Sign in</a></p>');
  assert.equal(s.DBL, 4, JSON.stringify(s));
});

test('a tab (as &#9;) or a CRLF inside the scheme does not hide the link', async () => {
  const tab = await html('<p><a href="h&#9;ttps://login.evil.example/account">Sign in</a></p>');
  assert.equal(tab.DBL, 4, `tab: ${JSON.stringify(tab)}`);
  const nl = await html('<p><a href="ht\r\ntps://login.evil.example/account">Sign in</a></p>');
  assert.equal(nl.DBL, 4, `newline: ${JSON.stringify(nl)}`);
});

test('HTML5 named character references (&colon;, &period;) do not hide the link', async () => {
  const colon = await html('<p><a href="https&colon;//login.evil.example/account">Sign in</a></p>');
  assert.equal(colon.DBL, 4, `&colon;: ${JSON.stringify(colon)}`);
  const period = await html('<p><a href="https://login.evil&period;example/account">Sign in</a></p>');
  assert.equal(period.DBL, 4, `&period;: ${JSON.stringify(period)}`);
});

test('the target of a Safe Links-rewritten link is looked up', async () => {
  const target = encodeURIComponent('https://login.evil.example/account');
  const s = await html(
    `<p><a href="https://eur01.safelinks.protection.outlook.com/?url=${target}&amp;data=05">Sign in</a></p>`,
  );
  assert.equal(s.DBL, 4, JSON.stringify(s));
});
