// ARC (RFC 8617) chains that pass through us twice: a message we sealed (i=1, authserv-id ours) goes
// through a mailing list that re-seals it (i=2, cv=pass) and comes back to an alias of ours that forwards
// it elsewhere. Our earlier ARC-Authentication-Results is part of what both seals signed (sections 5.1.1,
// 5.2), so it must stay: the copy leaves with i=3 cv=pass and verifies at the receiver.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sealMessage } from 'mailauth';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { message, publishKey, send, sign, startSpamWorld, type TestKey, verifyAtReceiver } from '../spam/fixture.ts';

let f: OutboundFixture;
let sender: TestKey;
let forwarder: TestKey;
let ours: TestKey;

before(async () => {
  f = await startSpamWorld({
    zones: {
      'sender.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']] },
      '_dmarc.sender.test': { TXT: [['v=DMARC1; p=none']] },
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
      'mx.remote.test': { A: ['127.0.0.2'] },
    },
    hosts: ['127.0.0.2'],
  });
  sender = publishKey(f, 'sender.test', 's1');
  forwarder = publishKey(f, 'forwarder.test', 'arc');
  const k = await f.app.dkim.generate('example.com', { algorithm: 'rsa', selector: 'e2e' });
  f.dns.set('e2e._domainkey.example.com', { TXT: [k.record.match(/.{1,255}/g)!] });
  ours = {
    domain: 'example.com',
    selector: 'e2e',
    privateKey: (k as unknown as { privateKey?: string }).privateKey ?? '',
  };
  await f.app.directory.addAlias('fwd@example.com', ['carol@remote.test']);
});
after(async () => {
  await f?.stop();
});

async function seal(raw: string, key: TestKey, authserv: string, cv: 'none' | 'pass' | 'fail' = 'none') {
  const s = await sealMessage(Buffer.from(raw), {
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKey,
    authResults: `${authserv}; spf=pass smtp.mailfrom=bob@sender.test; dkim=pass header.d=sender.test`,
    cv,
  });
  return s.toString() + raw;
}

async function forward(raw: string, to = 'fwd@example.com') {
  const mta = await f.mta('127.0.0.2');
  const r = await send(f, {
    ip: '127.0.0.40',
    helo: 'lists.forwarder.test',
    from: 'list@forwarder.test',
    to: [to],
    raw,
  });
  assert.ok(r.ok, r.response);
  const got = await waitFor(() => mta.received().length > 0 && mta.received(), 15000, 'forwarded');
  await mta.stop();
  return got[0];
}

test('a chain whose earlier set we sealed ourselves (came back through a list) is still valid after our i=3', async () => {
  // i=1 by us (authserv-id mx.test.petrel), i=2 by the list.
  const original = await sign(message('Bob <bob@sender.test>', 'arc-roundtrip'), sender);
  assert.ok(ours.privateKey, 'our private key');
  const one = await seal(original, ours, 'mx.test.petrel');
  const two = await seal(
    one.replace('Subject: arc-roundtrip', 'Subject: [l] arc-roundtrip'),
    forwarder,
    'lists.forwarder.test',
    'pass',
  );
  const m = await forward(two);
  const text = m.data.toString();
  const res = await verifyAtReceiver(f, m.data, m.from);
  assert.match(text, /^ARC-Seal: i=3; [^\r]*cv=pass/, text.slice(0, 600));
  assert.ok(res.arc);
  assert.equal(res.arc.status.result, 'pass', JSON.stringify(res.arc.status));
});
