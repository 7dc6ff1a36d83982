// The spam pipeline's time budget over the wire (nodemailer from 127.0.0.x): a network check that runs
// to the end of the budget (a Pyzor server that never answers) must not take the later stage's time, which
// applies the admin's block list and reads what stage 0 found.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { message, send, startSpamWorld } from './fixture.ts';

let f: OutboundFixture;
let pyzord: Socket;
let asked = 0;

before(async () => {
  // A Pyzor server that reads every request and never answers.
  pyzord = createSocket('udp4');
  pyzord.on('message', () => asked++);
  const port = await new Promise<number>((r) => pyzord.bind(0, '127.0.0.1', () => r(pyzord.address().port)));
  f = await startSpamWorld({
    configure(c) {
      // A Pyzor timeout past the budget (or a slow lookup of the server's name before it): Pyzor alone runs
      // to the budget's end.
      c.spam.timeout_ms = 3000;
      c.spam.pyzor.enabled = true;
      c.spam.pyzor.servers = [`127.0.0.1:${port}`];
      c.spam.pyzor.timeout_ms = 5000;
    },
  });
  await f.app.store.spam.addListEntry({
    kind: 'block',
    accountId: null,
    domainId: null,
    entry: '127.0.0.61',
    note: '',
    createdAt: Date.now(),
  });
});

after(async () => {
  await f?.stop();
  pyzord?.close();
});

test('a Pyzor server that never answers leaves the block list its time: the blocked client is refused', async () => {
  const r = await send(f, {
    ip: '127.0.0.61',
    helo: 'mail.blocked.test',
    from: 'x@blocked.test',
    raw: message('x@blocked.test', 'blocked while pyzor hangs', '', 'A body long enough for a Pyzor digest, say.\r\n'),
  });
  assert.ok(asked > 0, 'the Pyzor server was asked');
  assert.equal(r.code, 550, r.response);
  assert.match(r.response, /5\.7\.1 Sender refused by local policy \(127\.0\.0\.61\)/);
  const [row] = await f.app.store.spam.recentRefusals(1);
  assert.match(row.symbols, /BLOCKLISTED/);
  assert.match(row.symbols, /PYZOR_TIMEOUT/);
});
