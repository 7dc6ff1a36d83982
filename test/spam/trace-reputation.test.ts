// Reputation learned from users' judgements reads the sender facts (client IP, DKIM passes) from the
// stored copy's trace fields only where our filter wrote them: Authentication-Results of exactly our
// authserv-id (not one that merely starts with it, RFC 8601 section 5 keeps those), and only in copies
// our filter delivered (a verdict names them); a message a user APPENDs into Junk can carry any trace.
// Over the wire: raw SMTP into the MX listener, Python imaplib moving and appending.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { transaction } from '../helpers/smtp-client.ts';
import { message, publishKey, send, sign, startSpamWorld, USER, verdictSymbols } from '../spam/fixture.ts';

const python = peer('python3', 'python3');
const MOVE_ALL_TO_JUNK = `
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice@example.com', 'secret-pw')
M.select('INBOX')
typ, data = M.uid('MOVE', '1:*', 'Junk')
assert typ == 'OK', (typ, data)
M.logout()
`;

let f: OutboundFixture;
before(async () => {
  f = await startSpamWorld({
    // flip.test authenticates (SPF-aligned DMARC pass): only then do its From address and domain carry reputation.
    zones: {
      'flip.test': { TXT: [['v=spf1 ip4:127.0.0.51 -all']] },
      '_dmarc.flip.test': { TXT: [['v=DMARC1; p=none']] },
    },
    configure(c) {
      c.listeners.imap.enabled = true;
    },
  });
});
after(() => f?.stop());

test('a forged Authentication-Results of another authserv-id does not feed DKIM reputation', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  for (let i = 0; i < 5; i++) {
    const r = await transaction(f.server.ports.smtp, {
      ip: '127.0.0.44',
      helo: 'mail.vendor.test',
      from: 'x@vendor.test',
      to: [USER],
      data:
        'Authentication-Results: mx.test.petrel.attacker.test; dkim=pass header.d=bank.test header.s=s1\r\n' +
        `From: x@vendor.test\r\nTo: ${USER}\r\nSubject: cheap pills ${i}\r\n` +
        `Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <pills${i}@vendor.test>\r\n\r\nbuy now ${i}\r\n`,
    });
    assert.equal(r.code, 250, r.raw);
  }
  const mv = await run(python.path!, ['-c', MOVE_ALL_TO_JUNK, String(f.server.ports.imap)], { timeoutMs: 30000 });
  assert.equal(mv.status, 0, mv.stdout + mv.stderr);
  await f.app.spamFeedback.settled();
  // bank.test's own, genuinely signed mail, from its own server:
  const key = publishKey(f, 'bank.test', 's1');
  const ok = await send(f, {
    ip: '127.0.0.46',
    helo: 'mail.bank.test',
    from: 'notice@bank.test',
    raw: await sign(message('notice@bank.test', 'statement'), key),
  });
  assert.ok(ok.ok, ok.response);
  const symbols = await verdictSymbols(f, USER);
  assert.equal(symbols.DKIM_PASS !== undefined, true, JSON.stringify(symbols));
  assert.ok(!('REPUTATION_DKIM_BAD' in symbols), `genuine bank.test mail penalised: ${JSON.stringify(symbols)}`);
  const rows = await f.app.store.reputation.lookup([{ kind: 'dkim', key: 'bank.test' }], Date.now(), 14 * 86_400_000);
  // Nobody verified a bank.test signature before its own mail came: no spam evidence may exist for it
  // (its genuine message, accepted, may have added ham).
  assert.deepEqual(
    rows.filter((r) => r.spam > 0).map((r) => ({ key: r.key, spam: r.spam })),
    [],
    'bank.test DKIM reputation was fed by a field the sender wrote',
  );
});

// The same trust, by a user alone: IMAP APPEND into Junk counts as a spam report (junk-feedback.ts); the
// appended message's own "Received: ... by mx.test.petrel" and Authentication-Results must not be read as
// ours, or one account could condemn any IP and any DKIM domain for every user of the server.
const APPEND_TO_JUNK = `
import imaplib, sys, time
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice@example.com', 'secret-pw')
for i in range(5):
    msg = ('Received: from mail.shop.test ([192.0.2.77])\\r\\n\\tby mx.test.petrel (Petrel) with ESMTP id x%d\\r\\n'
           'Authentication-Results: mx.test.petrel; dkim=pass header.d=shop.test header.s=s1\\r\\n'
           'From: orders@shop.test\\r\\nSubject: appended %d\\r\\nMessage-ID: <app%d@shop.test>\\r\\n\\r\\nbody %d\\r\\n') % (i, i, i, i)
    typ, data = M.append('Junk', None, None, msg.encode())
    assert typ == 'OK', (typ, data)
M.logout()
`;

test('messages a user APPENDs into Junk do not feed reputation through their forged trace fields', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const r = await run(python.path!, ['-c', APPEND_TO_JUNK, String(f.server.ports.imap)], { timeoutMs: 30000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  await f.app.spamFeedback.settled();
  const rows = await f.app.store.reputation.lookup(
    [
      { kind: 'dkim', key: 'shop.test' },
      { kind: 'ip', key: '192.0.2.77' },
    ],
    Date.now(),
    14 * 86_400_000,
  );
  assert.deepEqual(
    rows.map((x) => `${x.kind}:${x.key} spam=${Math.round(x.spam)}`),
    [],
    'reputation of an IP and a DKIM domain nobody saw was written from fields the user wrote',
  );
});

test('a copy our filter delivered teaches its client IP and its verified DKIM domain when moved into Junk', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const key = publishKey(f, 'seller.test', 's1');
  const ok = await send(f, {
    ip: '127.0.0.48',
    helo: 'mail.seller.test',
    from: 'deals@seller.test',
    raw: await sign(message('deals@seller.test', 'deal of the day'), key),
  });
  assert.ok(ok.ok, ok.response);
  const mv = await run(python.path!, ['-c', MOVE_ALL_TO_JUNK, String(f.server.ports.imap)], { timeoutMs: 30000 });
  assert.equal(mv.status, 0, mv.stdout + mv.stderr);
  await f.app.spamFeedback.settled();
  const rows = await f.app.store.reputation.lookup(
    [
      { kind: 'dkim', key: 'seller.test' },
      { kind: 'ip', key: '127.0.0.48' },
    ],
    Date.now(),
    14 * 86_400_000,
  );
  assert.deepEqual(rows.map((x) => `${x.kind}:${x.key}`).sort(), ['dkim:seller.test', 'ip:127.0.0.48']);
  for (const x of rows) assert.ok(x.spam > 0, `${x.kind}:${x.key} spam=${x.spam}`);
});

// A user who keeps changing their mind about one message (into Junk, out, in again) has judged it once:
// the reputation of its sender holds one judgement, on the side of the last move, as after the first move.
const TOGGLE = `
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice@example.com', 'secret-pw')
def move(src, dst):
    M.select(src)
    typ, data = M.uid('SEARCH', 'FROM', 'promo@flip.test')
    assert typ == 'OK' and data[0], (src, typ, data)
    typ, data = M.uid('MOVE', data[0].decode().replace(' ', ','), dst)
    assert typ == 'OK', (typ, data)
for src, dst in [p.split('>') for p in sys.argv[2:]]:
    move(src, dst)
M.logout()
`;

test('moving a message into Junk, out and in again counts as one judgement in its sender reputation', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const ok = await send(f, {
    ip: '127.0.0.51',
    helo: 'mail.flip.test',
    from: 'promo@flip.test',
    raw: message('promo@flip.test', 'spring sale'),
  });
  assert.ok(ok.ok, ok.response);
  const keys = [
    { kind: 'from' as const, key: 'promo@flip.test' },
    { kind: 'ip' as const, key: '127.0.0.51' },
  ];
  const snapshot = async () =>
    (await f.app.store.reputation.lookup(keys, Date.now(), 14 * 86_400_000))
      // Observations decay (by millionths between two snapshots here): compared to two places, as the amounts.
      .map((x) => `${x.kind}:${x.key} spam=${x.spam.toFixed(2)} ham=${x.ham.toFixed(2)} count=${x.count.toFixed(2)}`)
      .sort();
  const toggle = async (...moves: string[]) => {
    const r = await run(python.path!, ['-c', TOGGLE, String(f.server.ports.imap), ...moves], { timeoutMs: 30000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    await f.app.spamFeedback.settled();
  };
  await toggle('INBOX>Junk');
  const once = await snapshot();
  assert.equal(once.length, 2, once.join('; '));
  await toggle('Junk>INBOX', 'INBOX>Junk', 'Junk>INBOX', 'INBOX>Junk');
  assert.deepEqual(await snapshot(), once, 'each move in and out of Junk was counted again');
  // And a final move out leaves it judged ham, once: no spam evidence from this user's earlier moves.
  await toggle('Junk>INBOX');
  const ham = await snapshot();
  for (const line of ham) assert.match(line, /spam=0\.00 /, ham.join('; '));
  assert.deepEqual(
    ham.map((l) => l.replace(/ spam=.*/, '') + ' ' + l.replace(/.* count=/, 'count=')),
    once.map((l) => l.replace(/ spam=.*/, '') + ' ' + l.replace(/.* count=/, 'count=')),
  );
});
