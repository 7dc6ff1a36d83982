// Replies and contacts over the wire: alice sends a message through submission (nodemailer, AUTH); a reply
// to it arriving at the MX scores REPLY; mail from an address she wrote to scores KNOWN_CONTACT when its
// From domain is authenticated (SPF-aligned DMARC pass), not when the same From is forged or for a stranger;
// a forged From (DMARC fails) quoting the Message-ID scores no REPLY.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { message, send, startSpamWorld, submit, USER, verdictSymbols } from './fixture.ts';

let f: OutboundFixture;

before(async () => {
  f = await startSpamWorld({
    zones: {
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }], TXT: [['v=spf1 ip4:127.0.0.6 -all']] },
      '_dmarc.remote.test': { TXT: [['v=DMARC1; p=none']] },
      'mx.remote.test': { A: ['127.0.0.2'] },
      'stranger.test': { TXT: [['v=spf1 ip4:127.0.0.8 -all']] },
      '_dmarc.stranger.test': { TXT: [['v=DMARC1; p=none']] },
    },
    hosts: ['127.0.0.2'],
    configure(c) {
      c.listeners.submission.enabled = true;
    },
  });
  await f.mta('127.0.0.2');
});

after(async () => {
  await f?.stop();
});

test('a reply to what a user sent scores REPLY; an authenticated correspondent KNOWN_CONTACT', async () => {
  const sent = await submit(f, {
    to: ['bob@remote.test'],
    raw: `From: Alice <${USER}>\r\nTo: bob@remote.test\r\nSubject: lunch?\r\nMessage-ID: <lunch-42@example.com>\r\n\r\nTuesday?\r\n`,
  });
  assert.ok(sent.ok, sent.response);
  // Remembered after the 250, off the submission's path.
  await waitFor(
    async () =>
      (await f.app.store.reputation.lookup([{ kind: 'reply', key: 'lunch-42@example.com' }], Date.now(), 1e12)).length,
    5000,
    'the sent message remembered',
  );

  /** Delivers from a client IP (its HELO named after the sender's domain) and returns the verdict's symbols. */
  const arrive = async (ip: string, from: string, raw: string) => {
    const r = await send(f, { ip, helo: `mail.${from.split('@')[1]}`, from, raw });
    assert.ok(r.ok, r.response);
    return verdictSymbols(f, USER);
  };
  const bob = 'Bob <bob@remote.test>';

  let sym = await arrive(
    '127.0.0.6',
    'bob@remote.test',
    message(bob, 'Re: lunch?', 'In-Reply-To: <lunch-42@example.com>\r\n'),
  );
  assert.equal(sym.REPLY, -4);
  assert.equal(sym.KNOWN_CONTACT, -2);

  // Not a reply, but from the correspondent, authenticated: the contact alone.
  sym = await arrive('127.0.0.6', 'bob@remote.test', message(bob, 'news'));
  assert.equal(sym.REPLY, undefined);
  assert.equal(sym.KNOWN_CONTACT, -2);

  // The same From forged from another server (SPF fails, DMARC fails): no trust.
  sym = await arrive('127.0.0.7', 'bob@remote.test', message(bob, 'forged'));
  assert.equal(sym.KNOWN_CONTACT, undefined);
  assert.ok(sym.DMARC_FAIL !== undefined, JSON.stringify(sym));

  // A spoof of the correspondent that quotes the Message-ID (a leaked thread, a list archive) in In-Reply-To:
  // its From fails DMARC, so being "a reply" vouches for nothing (it would otherwise take 4 off the score of
  // SPF_FAIL and DMARC_FAIL and land in the INBOX).
  sym = await arrive(
    '127.0.0.7',
    'bob@remote.test',
    message(bob, 'Re: lunch? (invoice attached)', 'In-Reply-To: <lunch-42@example.com>\r\n'),
  );
  assert.ok(sym.DMARC_FAIL !== undefined, JSON.stringify(sym));
  assert.equal(sym.REPLY, undefined, `a spoof quoting a known Message-ID scored REPLY: ${JSON.stringify(sym)}`);

  // A stranger quoting a Message-ID nobody here sent: nothing.
  sym = await arrive(
    '127.0.0.8',
    'eve@stranger.test',
    message('Eve <eve@stranger.test>', 'Re: hi', 'In-Reply-To: <never-sent@example.com>\r\n'),
  );
  assert.equal(sym.REPLY, undefined);
  assert.equal(sym.KNOWN_CONTACT, undefined);
});
