// Blocklist answers that are not listings, over SMTP into the MX listener: Spamhaus's 127.255.255.x error
// codes (query refused: a public resolver, a typo'd zone, too many queries), SURBL's and URIBL's 127.0.0.1
// ("query refused") and answers outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN) score nothing, for the
// client IP (dnsbl), link domains (uribl, the production zones) and reply addresses (ebl); each shows as a
// zero-score *_BLOCKED symbol, and a warning in the log once an hour per zone, so the admin sees that a zone
// does not work.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { contentSections } from '../../src/config/spam-content.ts';
import { captureLog } from '../helpers/log-capture.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { message, newestVerdict, send, startSpamWorld, USER } from './fixture.ts';

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

let f: OutboundFixture;
const log = captureLog<{ msg: string; level: string; zone?: string }>();
before(async () => {
  f = await startSpamWorld({
    logTo: log.stream,
    zones: {
      // The client 127.0.0.61: refused by one zone, a hijacking resolver's answer for the other.
      '61.0.0.127.zen.test': { A: ['127.255.255.254'] },
      '61.0.0.127.any.test': { A: ['198.51.100.7'] },
      // The client 127.0.0.62 is listed (the same zones still list).
      '62.0.0.127.zen.test': { A: ['127.0.0.2'] },
      // A link domain every URI blocklist refuses to answer about, each in its own way.
      'refused.example.multi.surbl.org': { A: ['127.0.0.1'] },
      'refused.example.multi.uribl.com': { A: ['127.0.0.1'] },
      'refused.example.dbl.spamhaus.org': { A: ['127.255.255.254'] },
      'refused.example.multi.uribl.test': { A: ['127.0.0.1'] },
      'typo.example.dbl.spamhaus.org': { A: ['127.255.255.252'] },
      'hijacked.example.dbl.spamhaus.org': { A: ['198.51.100.7'] },
      'listed.example.dbl.spamhaus.org': { A: ['127.0.1.2'] },
      [`${sha1('dropbox@refused.example')}.ebl.msbl.org`]: { A: ['127.255.255.255'] },
    },
    configure(c) {
      c.spam.dnsbl.zones = ['zen.test=127.0.0.2-127.0.0.3:SBL:6', 'any.test'];
      // The production zones, and one written without the refusal's code (README's SURBL example has none).
      c.spam.uribl.zones = [...(contentSections.uribl.fields.zones.production ?? []), 'multi.uribl.test URIBL_PLAIN:5'];
      c.spam.ebl.zones = contentSections.ebl.fields.zones.production ?? [];
    },
  });
});
after(() => f?.stop());

test('a refused or hijacked DNSBL answer is not a listing: RBL_<ZONE>_BLOCKED, score 0', async () => {
  const r = await send(f, {
    ip: '127.0.0.61',
    helo: 'mail.sender.test',
    from: 'a@sender.test',
    raw: message('a@sender.test', 'refused'),
  });
  assert.ok(r.ok, r.response);
  const { symbols } = await newestVerdict(f, USER);
  assert.equal(symbols.RBL_SBL, undefined, JSON.stringify(symbols));
  assert.equal(symbols.RBL_ANY_TEST, undefined, JSON.stringify(symbols));
  assert.equal(symbols.RBL_ZEN_TEST_BLOCKED, 0, JSON.stringify(symbols));
  assert.equal(symbols.RBL_ANY_TEST_BLOCKED, 0, JSON.stringify(symbols));
  // The admin is told once, not once a message: the zone does not work from here.
  const again = await send(f, {
    ip: '127.0.0.61',
    helo: 'mail.sender.test',
    from: 'a@sender.test',
    raw: message('a@sender.test', 'refused again'),
  });
  assert.ok(again.ok, again.response);
  const warned = log.lines.filter((l) => l.level === 'warn' && /^blocklist: /.test(l.msg));
  assert.deepEqual(warned.map((l) => l.zone).sort(), ['any.test', 'zen.test'], JSON.stringify(warned));
  const listed = await send(f, {
    ip: '127.0.0.62',
    helo: 'mail.sender.test',
    from: 'a@sender.test',
    raw: message('a@sender.test', 'listed'),
  });
  assert.ok(listed.ok, listed.response);
  assert.equal((await newestVerdict(f, USER)).symbols.RBL_SBL, 6);
});

test('URI and e-mail blocklists: refusal codes and foreign answers score nothing, a listing still does', async () => {
  const body =
    'Pay at http://www.refused.example/pay, http://typo.example/ or http://hijacked.example/ today.\r\n' +
    'Answers to dropbox@refused.example please.\r\n';
  const r = await send(f, {
    ip: '127.0.0.63',
    helo: 'mail.sender.test',
    from: 'a@sender.test',
    raw: message('a@sender.test', 'links', '', body),
  });
  assert.ok(r.ok, r.response);
  const { box, symbols } = await newestVerdict(f, USER);
  const scored = Object.entries(symbols).filter(([n, s]) => s !== 0 && /BL|SURBL|DBL/.test(n));
  assert.deepEqual(scored, [], JSON.stringify(symbols));
  assert.equal(box, 'INBOX');
  // SURBL and URIBL say "refused" with 127.0.0.1 (their zones' bit 1), Spamhaus with 127.255.255.x.
  assert.equal(symbols.SURBL_BLOCKED, 0, JSON.stringify(symbols));
  assert.equal(symbols.URIBL_BLOCKED, 0, JSON.stringify(symbols));
  assert.equal(symbols.DBL_BLOCKED, 0, JSON.stringify(symbols));
  assert.equal(symbols.MSBL_EBL_BLOCKED, 0, JSON.stringify(symbols));
  const warned = log.lines.filter((l) => l.level === 'warn' && /^blocklist: /.test(l.msg)).map((l) => l.zone);
  for (const zone of ['dbl.spamhaus.org', 'multi.uribl.test', 'ebl.msbl.org']) assert.ok(warned.includes(zone), zone);
  // SURBL's and URIBL's refusal is not a listing in a zone whose codes do not name it either.
  assert.equal(symbols.URIBL_PLAIN_BLOCKED, 0, JSON.stringify(symbols));

  const listed = await send(f, {
    ip: '127.0.0.63',
    helo: 'mail.sender.test',
    from: 'a@sender.test',
    raw: message('a@sender.test', 'listed link', '', 'See http://listed.example/ now.\r\n'),
  });
  assert.ok(listed.ok, listed.response);
  assert.equal((await newestVerdict(f, USER)).symbols.DBL_SPAM, 6);
});
