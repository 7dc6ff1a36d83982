// Connection and envelope checks over the wire: DNS blocklists (a score, and a refusal where configured),
// forward-confirmed reverse DNS and HELO sanity in the stored verdict, per-IP and per-sender rate limits
// (451 4.7.1 at MAIL FROM; a sender counts only its accepted messages), a failing reverse zone
// (RDNS_TEMPERROR, not RDNS_NONE), a DNS server that never answers (the message is still delivered), and
// the pruning of verdicts past spam.verdicts_keep.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import {
  authResults,
  awayFromHourBoundary,
  headerOf,
  mailbox,
  message,
  send,
  startSpamWorld,
  USER,
  verdictSymbols,
} from './fixture.ts';

let f: OutboundFixture;

before(async () => {
  f = await startSpamWorld({
    zones: {
      // 127.0.0.7 is listed (score), 127.0.0.8 listed in a zone configured to refuse.
      '7.0.0.127.bl.test': { A: ['127.0.0.2'] },
      // A zone under a key, as Spamhaus's DQS ("<key>.zen.dq.spamhaus.net"): the key is the admin's secret.
      '8.0.0.127.aip7yig6sahg6ehsohn5shco3z.block.test': { A: ['127.0.0.2'] },
      '8.0.0.127.bl.test': { A: ['127.0.0.3'] },
      // Reverse DNS: 127.0.0.7 confirmed, 127.0.0.9 points to a name that does not point back.
      '7.0.0.127.in-addr.arpa': { PTR: ['mail.good.test'] },
      'mail.good.test': { A: ['127.0.0.7'] },
      '9.0.0.127.in-addr.arpa': { PTR: ['liar.test'] },
      'liar.test': { A: ['192.0.2.9'] },
    },
    configure(c) {
      c.spam.dnsbl.zones = [
        'bl.test=127.0.0.2:LISTED:4,127.0.0.3:OTHER:1',
        'aip7yig6sahg6ehsohn5shco3z.block.test=127.0.0.2:BLOCKED:reject',
      ];
      c.spam.domain_thresholds = ['strict.test=1:2', 'lax@strict.test=50:60'];
      c.spam.rate_limit.per_ip = 3;
      c.spam.rate_limit.per_sender = 2;
    },
  });
});

after(async () => {
  await f?.stop();
});

const lastVerdictSymbols = () => verdictSymbols(f, USER);

test('a listed client gets the zone symbol and score; FCrDNS confirmed', async () => {
  const r = await send(f, {
    ip: '127.0.0.7',
    helo: 'mail.good.test',
    from: 'a@good.test',
    raw: message('a@good.test', 'listed'),
  });
  assert.ok(r.ok, r.response);
  const sym = await lastVerdictSymbols();
  assert.equal(sym.RBL_LISTED, 4);
  assert.equal(sym.RDNS_CONFIRMED, 0);
  assert.equal(sym.RBL_BLOCKED, undefined);
  const stored = (await mailbox(f, USER, 'INBOX')).at(-1)!;
  assert.match(headerOf(stored), /tests=[^\r]*RBL_LISTED=4/);
  // The blocklist query went to the test's DNS with the reversed octets.
  assert.ok(f.dns.queries.includes('A 7.0.0.127.bl.test'));
});

test('per-domain and per-account thresholds: one message, INBOX, Junk, INBOX', async () => {
  await f.app.directory.addDomain('strict.test');
  await f.app.directory.addAccount('sam@strict.test', 'pw-sam-123456');
  await f.app.directory.addAccount('lax@strict.test', 'pw-lax-123456');
  const raw = message('a@good.test', 'two domains');
  const r = await send(f, {
    ip: '127.0.0.7',
    helo: 'mail.good.test',
    from: 'a@good.test',
    to: [USER, 'sam@strict.test', 'lax@strict.test'],
    raw,
  });
  assert.ok(r.ok, r.response);
  // Score 4.5 (RBL_LISTED, SPF_NONE): under example.com's junk_score 6, over strict.test's reject 2 (refused only if all refuse).
  const aliceCopy = (await mailbox(f, USER, 'INBOX')).at(-1)!;
  assert.match(aliceCopy, /\r\nSubject: two domains\r\n/);
  assert.match(aliceCopy, /\r\nX-Spam-Flag: NO\r\n/);
  const [samJunk] = await mailbox(f, 'sam@strict.test', 'Junk');
  assert.match(samJunk, /X-Spam-Flag: YES\r\nX-Spam-Score: 4\.5\r\nX-Spam-Status: Yes, score=4\.5 required=1\r\n/);
  assert.equal((await mailbox(f, 'sam@strict.test', 'INBOX')).length, 0);
  // An account's own entry wins over its domain's.
  const [lax] = await mailbox(f, 'lax@strict.test', 'INBOX');
  assert.match(lax, /X-Spam-Status: No, score=4\.5 required=50\r\n/);
  for (const copy of [aliceCopy, samJunk, lax]) assert.equal(copy.match(/^X-Spam-Flag:/gm)?.length, 1);
  // One delivery: the three copies share one stored content (their X-Spam-* lines are per-copy prefixes),
  // so they were written in one transaction and a failure could not have stored some of them.
  const ids = await Promise.all(
    [USER, 'sam@strict.test', 'lax@strict.test'].map(async (a) => (await f.app.store.getAccount(a))!.id),
  );
  const rows = await f.app.db.all<{ body_id: number }>(
    `SELECT body_id FROM messages WHERE account_id IN (?, ?, ?) ORDER BY id DESC LIMIT 3`,
    ids,
  );
  assert.equal(new Set(rows.map((r) => Number(r.body_id))).size, 1);
});

test('a zone whose code says reject refuses with 550 5.7.1 at the end of DATA and of BDAT, naming no key', async () => {
  const c = await RawSmtp.open(f.server.ports.smtp, { localAddress: '127.0.0.8' });
  await c.expect(220);
  await c.expect(250, 'EHLO mail.bad.test');
  await c.expect(250, 'MAIL FROM:<x@bad.test>');
  await c.expect(250, `RCPT TO:<${USER}>`);
  await c.expect(354, 'DATA');
  c.write(`${message('x@bad.test', 'blocked')}.\r\n`);
  // The reply names the listing by its symbol, as Spamhaus's Postfix guide has rbl_reply_maps say "blocked
  // using ZEN": the zone would give every refused client the DQS key it is queried under.
  const refusal = await c.expect(
    550,
    undefined,
    /^550 5\.7\.1 Client host 127\.0\.0\.8 listed in RBL_BLOCKED \(127\.0\.0\.2\)/,
  );
  assert.doesNotMatch(refusal.raw, /aip7yig6/);
  // The same through BDAT (RFC 3030): the refusal is the reply to the LAST chunk.
  const body = message('x@bad.test', 'blocked by bdat');
  await c.expect(250, 'MAIL FROM:<y@bad.test>');
  await c.expect(250, `RCPT TO:<${USER}>`);
  c.write(`BDAT ${Buffer.byteLength(body)} LAST\r\n${body}`);
  await c.expect(550, undefined, /^550 5\.7\.1 Client host 127\.0\.0\.8 listed in RBL_BLOCKED/);
  await c.expect(221, 'QUIT');
  c.close();
  const [row] = await f.app.store.spam.recentRefusals(1);
  assert.match(row.symbols, /RBL_BLOCKED/);
  assert.match(row.symbols, /RBL_OTHER/);
});

test('reverse DNS that does not confirm, and a HELO claiming to be our domain', async () => {
  const r = await send(f, {
    ip: '127.0.0.9',
    helo: 'example.com',
    from: 'b@liar.test',
    raw: message('b@liar.test', 'liar'),
  });
  assert.ok(r.ok, r.response);
  const sym = await lastVerdictSymbols();
  assert.equal(sym.RDNS_NOT_CONFIRMED, 1);
  assert.equal(sym.HELO_CLAIMS_LOCAL, 3);
  const r2 = await send(f, {
    ip: '127.0.0.9',
    helo: 'localhost',
    from: 'c@liar.test',
    raw: message('c@liar.test', 'short helo'),
  });
  assert.ok(r2.ok, r2.response);
  assert.equal((await lastVerdictSymbols()).HELO_NOT_FQDN, 1.5);
});

test('an IPv6 address literal in EHLO names the client in its full or its compressed form (RFC 5321 4.1.3)', async () => {
  const g = await startSpamWorld({
    configure(c) {
      c.listeners.smtp.bind = '::';
    },
  });
  // One message from ::1 with the given EHLO; the symbols of its verdict.
  const sendAs = async (helo: string) => {
    const socket = connect({ port: g.server.ports.smtp, host: '::1', localAddress: '::1' });
    await new Promise((ok, fail) => socket.once('connect', ok).once('error', fail));
    const c = new RawSmtp(socket);
    await c.expect(220);
    await c.expect(250, `EHLO ${helo}`);
    await c.expect(250, 'MAIL FROM:<a@six.test>');
    await c.expect(250, `RCPT TO:<${USER}>`);
    await c.expect(354, 'DATA');
    await c.expect(250, `${message('a@six.test', helo)}.`);
    await c.expect(221, 'QUIT');
    c.close();
    return verdictSymbols(g, USER);
  };
  try {
    assert.equal((await sendAs('[IPv6:::1]')).HELO_IP_MISMATCH, undefined);
    assert.equal((await sendAs('[IPv6:0:0:0:0:0:0:0:1]')).HELO_IP_MISMATCH, undefined);
    assert.equal((await sendAs('[IPv6:0:0:0:0:0:0:0:2]')).HELO_IP_MISMATCH, 1);
  } finally {
    await g.stop();
  }
});

test('rate limits at MAIL FROM: per sender (accepted messages), then per client IP (451 4.7.1)', async () => {
  await awayFromHourBoundary(); // the window (1h) must not start over halfway
  // The sender's two messages are accepted and count; the IP has used two of its three MAIL FROMs.
  for (let i = 0; i < 2; i++) {
    const r = await send(f, {
      ip: '127.0.0.10',
      helo: 'mail.flood.test',
      from: 'flood@flood.test',
      raw: message('flood@flood.test', `flood ${i}`),
    });
    assert.ok(r.ok, r.response);
  }
  const c = await RawSmtp.open(f.server.ports.smtp, { localAddress: '127.0.0.10' });
  await c.expect(220);
  await c.expect(250, 'EHLO mail.flood.test');
  await c.expect(451, 'MAIL FROM:<flood@flood.test>', /^451 4\.7\.1 Too many messages from <flood@flood\.test>/);
  // The IP has used its three; a fourth sender is refused for the address.
  await c.expect(451, 'MAIL FROM:<other@flood.test>', /^451 4\.7\.1 Too many messages from 127\.0\.0\.10/);
  await c.expect(221, 'QUIT');
  c.close();
  // The sender's limit holds from another client too; another sender there is not affected.
  const again = await send(f, {
    ip: '127.0.0.13',
    helo: 'mail.flood.test',
    from: 'flood@flood.test',
    raw: message('flood@flood.test', 'flood again'),
  });
  assert.equal(again.code, 451, again.response);
  const r = await send(f, {
    ip: '127.0.0.11',
    helo: 'mail.ok.test',
    from: 'ok@ok.test',
    raw: message('ok@ok.test', 'unaffected'),
  });
  assert.ok(r.ok, r.response);
  // A client on the allow list is not rate-limited at all.
  await f.app.store.spam.addListEntry({ kind: 'allow', accountId: null, entry: '127.0.0.12', note: '', createdAt: 0 });
  const a = await RawSmtp.open(f.server.ports.smtp, { localAddress: '127.0.0.12' });
  await a.expect(220);
  await a.expect(250, 'EHLO mail.partner.test');
  for (let i = 0; i < 5; i++) {
    await a.expect(250, 'MAIL FROM:<ok2@ok.test>');
    await a.expect(250, 'RSET');
  }
  await a.expect(221, 'QUIT');
  a.close();
});

test('the per-sender limit counts the addresses of one sender (BATV tags, VERP numbers, +extensions) together', async () => {
  await awayFromHourBoundary();
  // Two accepted messages under per-message addresses of each of two senders, each from its own client.
  for (const [ip, from] of [
    ['127.0.0.20', 'prvs=1123abcdef=news@verp.test'],
    ['127.0.0.21', 'prvs=1124fedcba=news+tag@verp.test'],
    ['127.0.0.23', 'bounces-1001-alice=example.com@verp.test'],
    ['127.0.0.24', 'bounces-1002-alice=example.com@verp.test'],
  ]) {
    const r = await send(f, { ip, helo: 'mail.verp.test', from, raw: message(from, `news ${ip}`) });
    assert.ok(r.ok, r.response);
  }
  const c = await RawSmtp.open(f.server.ports.smtp, { localAddress: '127.0.0.22' });
  await c.expect(220);
  await c.expect(250, 'EHLO mail.verp.test');
  // The next address of each sender: both are at their limit.
  await c.expect(451, 'MAIL FROM:<news@verp.test>', /^451 4\.7\.1 Too many messages/);
  await c.expect(451, 'MAIL FROM:<bounces-1003-alice=example.com@verp.test>', /^451 4\.7\.1 Too many messages/);
  await c.expect(221, 'QUIT');
  c.close();
});

test("MAIL FROM/RSET with a claimed sender, no message: the sender's own server is not rate-limited", async () => {
  await awayFromHourBoundary();
  // Another host claims partner@partner.test ten times (more than per_sender and per_ip), sending nothing.
  const c = await RawSmtp.open(f.server.ports.smtp, { localAddress: '127.0.0.14' });
  await c.expect(220);
  await c.expect(250, 'EHLO forger.test');
  for (let i = 0; i < 10; i++) {
    await c.cmd('MAIL FROM:<partner@partner.test>');
    await c.expect(250, 'RSET');
  }
  await c.expect(221, 'QUIT');
  c.close();
  // The partner's own server sends its two messages; the third is over the limit.
  for (let i = 0; i < 2; i++) {
    const r = await send(f, {
      ip: '127.0.0.15',
      helo: 'mail.partner.test',
      from: 'partner@partner.test',
      raw: message('partner@partner.test', `genuine ${i}`),
    });
    assert.ok(r.ok, `genuine mail refused: ${r.response}`);
  }
  const third = await send(f, {
    ip: '127.0.0.16',
    helo: 'mail.partner.test',
    from: 'partner@partner.test',
    raw: message('partner@partner.test', 'genuine 3'),
  });
  assert.equal(third.code, 451, third.response);
  assert.match(third.response, /^451 4\.7\.1 Too many messages from <partner@partner\.test>/);
});

test('a DNS server that never answers: delivered anyway, results say temperror', async () => {
  // A nameserver that swallows every query.
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  const g = await startSpamWorld({
    configure(c) {
      c.dns.nameservers = [`127.0.0.1:${sink.address().port}`];
      c.spam.dnsbl.zones = ['bl.test'];
      c.spam.timeout_ms = 3000;
      c.spam.dns_timeout_ms = 300;
    },
  });
  try {
    const r = await send(g, {
      ip: '127.0.0.12',
      helo: 'mail.any.test',
      from: 'z@any.test',
      raw: message('z@any.test', 'dead dns'),
    });
    assert.ok(r.ok, r.response);
    const [stored] = await mailbox(g, USER, 'INBOX');
    const [ar] = authResults(stored);
    assert.match(ar, /^Authentication-Results: mx\.test\.petrel;/);
    assert.match(ar, /spf=temperror/);
    assert.match(ar, /dmarc=temperror/);
    const acc = await g.app.store.getAccount(USER);
    const mb = await g.app.store.getMailbox(acc!.id, 'INBOX');
    const [m] = await g.app.store.listMessages(mb!.id);
    const [row] = await g.app.store.spam.verdictsFor(acc!.id, m.id);
    assert.equal(row.action, 'accept');
    assert.match(row.symbols, /RBL_BL_TEST_TEMPERROR/);
    assert.match(row.symbols, /RDNS_TEMPERROR/);
  } finally {
    await g.stop();
    sink.close();
  }
});

test('a reverse zone whose server fails (SERVFAIL): RDNS_TEMPERROR scoring nothing, not RDNS_NONE', async () => {
  // A broken or lame reverse zone says nothing about the client: only an answer that there is no PTR
  // (NXDOMAIN, or no PTR records) is RDNS_NONE.
  f.dns.failing.add('17.0.0.127.in-addr.arpa');
  const r = await send(f, {
    ip: '127.0.0.17',
    helo: 'mail.any.test',
    from: 'r@any.test',
    raw: message('r@any.test', 'servfail ptr'),
  });
  assert.ok(r.ok, r.response);
  assert.ok(f.dns.queries.includes('PTR 17.0.0.127.in-addr.arpa'));
  const sym = await lastVerdictSymbols();
  assert.equal(sym.RDNS_TEMPERROR, 0, JSON.stringify(sym));
  assert.equal(sym.RDNS_NONE, undefined);
  // A name with no PTR at all is still RDNS_NONE.
  const none = await send(f, {
    ip: '127.0.0.18',
    helo: 'mail.any.test',
    from: 'r@any.test',
    raw: message('r@any.test', 'no ptr'),
  });
  assert.ok(none.ok, none.response);
  assert.equal((await lastVerdictSymbols()).RDNS_NONE, 1.5);
});

test('verdicts past spam.verdicts_keep are pruned by a server that has not been up an hour', async () => {
  // A server restarted within the hour (an upgrade, a crash loop) must still keep its verdict rows bounded.
  const g = await startSpamWorld({
    configure(c) {
      c.spam.verdicts_keep = '1d';
    },
  });
  try {
    const old = Date.now() - 3 * 86_400_000;
    const row = { accountId: null, messageId: null, clientIp: '192.0.2.1', mailFrom: 'x@old.test', score: 20 };
    await g.app.store.spam.saveVerdicts([
      { ...row, action: 'reject', symbols: '[]', createdAt: old },
      { ...row, action: 'reject', symbols: '[]', createdAt: Date.now() - 3_600_000 },
    ]);
    const r = await send(g, {
      ip: '127.0.0.19',
      helo: 'mail.any.test',
      from: 'p@any.test',
      raw: message('p@any.test', 'prune'),
    });
    assert.ok(r.ok, r.response);
    // The pruning runs beside the delivery: wait for it (bounded).
    const count = async (before: number) =>
      Number(
        (await g.app.db.all<{ n: number }>('SELECT COUNT(*) AS n FROM spam_verdicts WHERE created_at < ?', [before]))[0]
          .n,
      );
    for (let i = 0; i < 100 && (await count(old + 1)) > 0; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(await count(old + 1), 0, 'the three-day-old verdict is gone');
    assert.equal(await count(Date.now()), 2, "the hour-old verdict and the new message's are kept");
  } finally {
    await g.stop();
  }
});
