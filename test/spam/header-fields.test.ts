// Header fields RFC 5322 section 3.6 allows once, over the wire (nodemailer from 127.0.0.44): a message
// with two From fields is refused during DATA (a filter may judge one author while the reader sees the
// other), or only scored with spam.headers.duplicate_from = "score"; another repeated field is scored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { mailbox, message, send, startSpamWorld, USER, verdictSymbols } from './fixture.ts';

let f: OutboundFixture;
before(async () => {
  f = await startSpamWorld({});
});
after(() => f?.stop());

const SENDER = 'billing@vendor.test';
const deliver = (world: OutboundFixture, raw: string) =>
  send(world, { ip: '127.0.0.44', helo: 'mail.vendor.test', from: SENDER, raw });

test('two From fields: refused during DATA, nothing stored', async () => {
  const before = (await mailbox(f, USER, 'INBOX')).length;
  const r = await deliver(f, message(SENDER, 'invoice', 'From: CEO <ceo@example.com>\r\n'));
  assert.equal(r.code, 550, r.response);
  assert.match(r.response, /5\.7\.1 .*2 From fields \(RFC 5322 section 3\.6 allows one\)/);
  assert.equal((await mailbox(f, USER, 'INBOX')).length, before);
  // The same message with one From goes through.
  assert.ok((await deliver(f, message(SENDER, 'invoice'))).ok);
  assert.ok(!('HDR_FROM_DUPLICATE' in (await verdictSymbols(f, USER))));
});

test('another field twice is scored; with duplicate_from = "score" two From fields are too', async () => {
  assert.ok((await deliver(f, message(SENDER, 'twice', 'Subject: a second subject\r\n'))).ok);
  const symbols = await verdictSymbols(f, USER);
  assert.equal(symbols.HDR_DUPLICATE_FIELD, 2, JSON.stringify(symbols));
  const lenient = await startSpamWorld({
    configure(c) {
      c.spam.headers.duplicate_from = 'score';
    },
  });
  try {
    const r = await deliver(lenient, message(SENDER, 'invoice', 'From: CEO <ceo@example.com>\r\n'));
    assert.ok(r.ok, r.response);
    assert.equal((await verdictSymbols(lenient, USER)).HDR_FROM_DUPLICATE, 5);
  } finally {
    await lenient.stop();
  }
});
