// E-mail address blocklists over the wire: the test's DNS server publishes an EBL zone (SHA-1 of listed
// addresses, as MSBL's EBL) and a second one keyed by MD5; messages sent into the MX listener (nodemailer
// from 127.0.0.46) whose Reply-To, From, body text or mailto: link (character references decoded) gives a
// listed drop box score the zone's symbol (+tags and case do not hide it), an unlisted one nothing; our own
// users' addresses are never looked up; a zone whose server fails scores a zero _FAIL symbol and the
// message is delivered. Submitted mail giving a listed drop box is refused by the outbound scan.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { message, newestVerdict, send, startSpamWorld, submit, USER } from './fixture.ts';

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

let f: OutboundFixture;
before(async () => {
  f = await startSpamWorld({
    zones: {
      [`${sha1('dropbox@freemail.test')}.ebl.test`]: { A: ['127.0.0.2'] },
      // MSBL lists Gmail drop boxes in Gmail's own canonical form: no dots, gmail.com for googlemail.com.
      [`${sha1('claimsdesk@gmail.com')}.ebl.test`]: { A: ['127.0.0.2'] },
      [`${md5('claims.office@mailbox.test')}.md5.ebl.test`]: { A: ['127.0.0.3'] },
    },
    configure(c) {
      c.spam.ebl.zones = ['ebl.test EBL_LISTED:5', 'md5.ebl.test hash=md5 EBL_MD5 127.0.0.3:EBL_MD5_DROPBOX:3'];
      c.listeners.submission.enabled = true;
      c.spam.outbound.enabled = true;
      c.spam.outbound.reject_score = 5;
    },
  });
});
after(() => f?.stop());

const deliver = async (raw: string) => {
  const r = await send(f, { ip: '127.0.0.46', helo: 'mail.lottery.test', from: 'desk@lottery.test', raw });
  assert.ok(r.ok, r.response);
  return (await newestVerdict(f, USER)).symbols;
};

test('a listed Reply-To, whatever its case and +tag, scores the zone symbol', async () => {
  const symbols = await deliver(
    message('desk@lottery.test', 'your prize', 'Reply-To: Claims <DropBox+prize@FreeMail.test>\r\n'),
  );
  assert.equal(symbols.EBL_LISTED, 5, JSON.stringify(symbols));
  assert.ok(f.dns.queries.includes(`A ${sha1('dropbox@freemail.test')}.ebl.test`), 'the hash is what is sent');
  assert.ok(!f.dns.queries.some((q) => q.includes('dropbox')), 'never the address itself');
});

test('a Gmail drop box is looked up as Gmail reads it: dots and +tag dropped, googlemail.com is gmail.com', async () => {
  for (const replyTo of ['Claims.Desk+win@gmail.com', 'c.l.a.i.m.s.desk@GoogleMail.com']) {
    const symbols = await deliver(message('desk@lottery.test', `gmail ${replyTo.length}`, `Reply-To: ${replyTo}\r\n`));
    assert.equal(symbols.EBL_LISTED, 5, `${replyTo}: ${JSON.stringify(symbols)}`);
  }
  // Dots are only Gmail's to ignore: elsewhere they name another mailbox.
  const before = f.dns.queries.length;
  await deliver(message('desk@lottery.test', 'dots elsewhere', 'Reply-To: claims.desk@freemail.test\r\n'));
  assert.ok(f.dns.queries.slice(before).includes(`A ${sha1('claims.desk@freemail.test')}.ebl.test`));
});

test('a Reply-To of a dozen addresses does not keep the drop box in the body from being looked up', async () => {
  const many = Array.from({ length: 12 }, (_, i) => `desk${i}@office${i}.test`).join(', ');
  const body = 'Send the fee to dropbox@freemail.test today.\r\n';
  const symbols = await deliver(message('desk@lottery.test', 'crowded', `Reply-To: ${many}\r\n`, body));
  assert.equal(symbols.EBL_LISTED, 5, JSON.stringify(symbols));
});

test('a listed envelope sender with an innocent From scores too', async () => {
  const r = await send(f, {
    ip: '127.0.0.46',
    helo: 'mail.lottery.test',
    from: 'DropBox@freemail.test',
    raw: message('desk@lottery.test', 'envelope'),
  });
  assert.ok(r.ok, r.response);
  assert.equal((await newestVerdict(f, USER)).symbols.EBL_LISTED, 5);
});

test('a listed address in the body text, under the MD5 zone with its answer code', async () => {
  const body = 'To claim, write to the office at claims.office@mailbox.test with your bank details.\r\n';
  const symbols = await deliver(message('desk@lottery.test', 'claim', '', body));
  assert.equal(symbols.EBL_MD5_DROPBOX, 3, JSON.stringify(symbols));
  assert.ok(!('EBL_LISTED' in symbols));
});

test('a mailto: link scores, character references in its href decoded as the client does', async () => {
  for (const href of [
    'mailto:dropbox@freemail.test',
    'mailto:dropbox&#64;freemail.test',
    'mailto:&#100;ropbox@freemail.test',
  ]) {
    const body = `<p><a href="${href}">Reply to claim</a> (${href.length})</p>\r\n`;
    const raw = message('desk@lottery.test', `claim ${href.length}`, '', body).replace(
      'Content-Type: text/plain',
      'Content-Type: text/html; charset=utf-8',
    );
    const symbols = await deliver(raw);
    assert.equal(symbols.EBL_LISTED, 5, `${href}: ${JSON.stringify(symbols)}`);
  }
});

test('a mailto: link giving the drop box in its to=, cc= or bcc= field scores (RFC 6068 section 2)', async () => {
  for (const href of [
    'mailto:?to=dropbox@freemail.test',
    'mailto:?subject=Claim&amp;to=dropbox%40freemail.test',
    'mailto:office@lottery.test?cc=dropbox@freemail.test',
    'mailto:office@lottery.test?BCC=dropbox@freemail.test&amp;body=hi',
  ]) {
    const body = `<p><a href="${href}">Reply to claim</a> (${href.length})</p>\r\n`;
    const raw = message('desk@lottery.test', `hfield ${href.length}`, '', body).replace(
      'Content-Type: text/plain',
      'Content-Type: text/html; charset=utf-8',
    );
    const symbols = await deliver(raw);
    assert.equal(symbols.EBL_LISTED, 5, `${href}: ${JSON.stringify(symbols)}`);
  }
});

test('unlisted addresses score nothing; our own users are never looked up', async () => {
  const before = f.dns.queries.length;
  const body = `Contact me at friend@elsewhere.test or ${USER} (Alice's own address).\r\n`;
  const symbols = await deliver(message('desk@lottery.test', 'hello', `Reply-To: ${USER}\r\n`, body));
  assert.ok(!Object.keys(symbols).some((s) => s.startsWith('EBL')), JSON.stringify(symbols));
  const asked = f.dns.queries.slice(before);
  assert.ok(asked.includes(`A ${sha1('friend@elsewhere.test')}.ebl.test`), asked.join('\n'));
  assert.ok(!asked.some((q) => q.includes(sha1(USER)) || q.includes(md5(USER))), 'alice@example.com is ours');
});

test("outbound: a user's message giving a listed drop box for replies is refused (a stolen password)", async () => {
  const raw = message(USER, 'business offer', 'Reply-To: dropbox@freemail.test\r\n').replace(
    `To: ${USER}`,
    'To: victim@elsewhere.test',
  );
  const r = await submit(f, { to: ['victim@elsewhere.test'], raw });
  assert.equal(r.code, 554, r.response);
  assert.match(r.response, /5\.7\.1/);
});

test('a zone whose DNS server fails: a zero-score _FAIL symbol, the message delivered', async () => {
  const failing = await startSpamWorld({
    configure(c) {
      c.spam.ebl.zones = ['ebl.test EBL_LISTED:5'];
      c.spam.ebl.timeout_ms = 300;
    },
  });
  try {
    await failing.dns.stop(); // nobody answers now
    const r = await send(failing, {
      ip: '127.0.0.46',
      helo: 'mail.lottery.test',
      from: 'desk@lottery.test',
      raw: message('desk@lottery.test', 'prize', 'Reply-To: dropbox@freemail.test\r\n'),
    });
    assert.ok(r.ok, r.response);
    const { symbols } = await newestVerdict(failing, USER);
    assert.equal(symbols.EBL_LISTED_FAIL, 0, JSON.stringify(symbols));
  } finally {
    await failing.stop().catch(() => {});
  }
});
