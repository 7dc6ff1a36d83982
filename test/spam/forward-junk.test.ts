// spam.forward_junk = "refuse" over the wire: mail from 127.0.0.x (nodemailer) to aliases that forward to
// another server (a fake MTA on 127.0.0.2, found through the test's DNS). Clean mail is forwarded; junk to
// a forwarding alias alone is refused (550 5.7.1, so the sender learns, and nothing is lost silently); junk
// to an alias that also reaches a local account goes to that account's Junk and is not forwarded. (With
// the default, "forward", junk leaves marked: test/spam/arc.test.ts.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FakeMta } from '../helpers/fake-mta.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { mailbox, message, send, startSpamWorld, USER } from './fixture.ts';

let f: OutboundFixture;
let mta: FakeMta;

before(async () => {
  f = await startSpamWorld({
    zones: {
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
      'mx.remote.test': { A: ['127.0.0.2'] },
    },
    hosts: ['127.0.0.2'],
    configure(c) {
      c.spam.forward_junk = 'refuse';
      c.spam.rules = ['LOCAL_CASINO body /online casino/i 1 junk'];
    },
  });
  mta = await f.mta('127.0.0.2');
  await f.app.directory.addAlias('fwd@example.com', ['carol@remote.test']);
  await f.app.directory.addAlias('both@example.com', [USER, 'dave@remote.test']);
});
after(() => f?.stop());

const from = (to: string[], subject: string, body: string) =>
  send(f, {
    ip: '127.0.0.47',
    helo: 'mail.sender.test',
    from: 'news@sender.test',
    to,
    raw: message('News <news@sender.test>', subject, '', `${body}\r\n`),
  });

test('junk is not forwarded: refused when forwarding was all, kept locally otherwise', async () => {
  assert.ok((await from(['fwd@example.com'], 'clean one', 'The minutes.')).ok);
  await waitFor(() => mta.received().length === 1, 15000, 'the clean message forwarded');

  const alone = await from(['fwd@example.com'], 'casino one', 'Best online casino bonuses.');
  assert.equal(alone.code, 550, alone.response);
  assert.match(alone.response, /5\.7\.1 Message refused as spam/);

  const both = await from(['both@example.com'], 'casino two', 'Best online casino bonuses.');
  assert.ok(both.ok, both.response);
  assert.ok((await mailbox(f, USER, 'Junk')).some((m) => m.includes('Subject: casino two')));
  // A clean message sent after it arrives; the junk one never did.
  assert.ok((await from(['both@example.com'], 'clean two', 'The agenda.')).ok);
  await waitFor(() => mta.received().length === 2, 15000, 'the second clean message forwarded');
  const subjects = mta.received().map((m) => /^Subject: (.*)$/m.exec(m.data.toString())?.[1]?.trim());
  assert.deepEqual(subjects, ['clean one', 'clean two']);
});
