// The Pyzor check against servers on loopback UDP sockets of the test's own (one answering "not reported",
// one down): PYZOR_FAIL only when no server answered (README, Spam symbols), nothing when one said "not
// reported", and a server name that does not resolve is PYZOR_FAIL. The real pyzord is test/spam/pyzord.test.ts.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, test } from 'node:test';
import { startDnsServer } from '../../../test/helpers/dns-server.ts';
import { context, msg, spamConfig } from '../../../test/spam/context.ts';
import { createResolver } from '../../dns/resolver.ts';
import { pyzorCheck } from './pyzor.ts';

const socks: Socket[] = [];
after(() => {
  for (const s of socks) s.close();
});

function udp(answer: boolean): Promise<number> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    socks.push(sock);
    sock.on('message', (m, r) => {
      if (!answer) return; // a server that is down (or dropped by a firewall)
      const thread = /Thread: (\d+)/.exec(m.toString())![1];
      sock.send(`Code: 200\nDiag: OK\nPV: 2.1\nThread: ${thread}\nCount: 0\nWL-Count: 0\n\n`, r.port, r.address);
    });
    sock.bind(0, '127.0.0.1', () => resolve(sock.address().port));
  });
}

test('PYZOR_FAIL only when no server answered', async () => {
  const up = await udp(true);
  const down = await udp(false);
  const config = spamConfig((s) => {
    s.pyzor.servers = [`127.0.0.1:${down}`, `127.0.0.1:${up}`];
    s.pyzor.timeout_ms = 300;
  });
  const check = pyzorCheck({ config, resolver: createResolver({ nameservers: [], timeoutMs: 300, tries: 1 }) });
  const raw = msg('Subject: x', '', 'Dear friend, we have a very special offer for you today only.', 'Buy it.');
  const symbols = await check.run(context(raw), AbortSignal.timeout(5000));
  // The answering server says "not reported": no symbol at all.
  assert.deepEqual(
    symbols.map((s) => s.name),
    [],
    JSON.stringify(symbols),
  );
});

test('PYZOR_FAIL when every server is down', async () => {
  const down = await udp(false);
  const config = spamConfig((s) => {
    s.pyzor.servers = [`127.0.0.1:${down}`];
    s.pyzor.timeout_ms = 300;
  });
  const check = pyzorCheck({ config, resolver: createResolver({ nameservers: [], timeoutMs: 300, tries: 1 }) });
  const raw = msg('Subject: x', '', 'Dear friend, we have a very special offer for you today only.', 'Buy it.');
  const symbols = await check.run(context(raw), AbortSignal.timeout(5000));
  assert.deepEqual(
    symbols.map((s) => s.name),
    ['PYZOR_FAIL'],
  );
});

test('a reply from another port or with another Thread is not taken for the server', async () => {
  // The server itself never answers; a second socket on the same host answers every request with the
  // request's Thread and a spam count, and the server's own socket once more with a wrong Thread. A reply
  // is the server's only from its address and port (pyzor's client reads replies off a socket connected
  // to it), so neither is an answer: PYZOR_FAIL, not PYZOR_CHECK.
  const forger = createSocket('udp4');
  socks.push(forger);
  await new Promise<void>((r) => forger.bind(0, '127.0.0.1', () => r()));
  const server = createSocket('udp4');
  socks.push(server);
  let asked = 0;
  server.on('message', (m, r) => {
    asked++;
    const thread = Number(/Thread: (\d+)/.exec(m.toString())![1]);
    const spam = (t: number) => `Code: 200\nDiag: OK\nPV: 2.1\nThread: ${t}\nCount: 1000\nWL-Count: 0\n\n`;
    forger.send(spam(thread), r.port, r.address);
    server.send(spam(thread === 65535 ? 1024 : thread + 1), r.port, r.address);
  });
  const port = await new Promise<number>((r) => server.bind(0, '127.0.0.1', () => r(server.address().port)));
  const config = spamConfig((s) => {
    s.pyzor.servers = [`127.0.0.1:${port}`];
    s.pyzor.timeout_ms = 500;
  });
  const check = pyzorCheck({ config, resolver: createResolver({ nameservers: [], timeoutMs: 300, tries: 1 }) });
  const raw = msg('Subject: x', '', 'Dear friend, we have a very special offer for you today only.', 'Buy it.');
  const symbols = await check.run(context(raw), AbortSignal.timeout(5000));
  assert.equal(asked, 1);
  assert.deepEqual(
    symbols.map((s) => s.name),
    ['PYZOR_FAIL'],
    JSON.stringify(symbols),
  );
});

test('a server whose name does not resolve, or whose lookup never ends, is PYZOR_FAIL, within the DNS timeout', async () => {
  // The test's own DNS server: no such name (NXDOMAIN), and a name it never answers for.
  const dns = await startDnsServer({});
  dns.silent.add('slow.pyzor.test');
  try {
    for (const host of ['gone.pyzor.test', 'slow.pyzor.test']) {
      const config = spamConfig((s) => {
        s.pyzor.servers = [`${host}:24441`];
        s.pyzor.timeout_ms = 300;
        s.dns_timeout_ms = 300;
      });
      // The server's resolver waits far longer than spam.dns_timeout_ms allows a spam check's lookup.
      const resolver = createResolver({ nameservers: [dns.address], timeoutMs: 20_000, tries: 1 });
      const check = pyzorCheck({ config, resolver });
      const raw = msg('Subject: x', '', 'Dear friend, we have a very special offer for you today only.', 'Buy it.');
      const symbols = await check.run(context(raw), AbortSignal.timeout(10_000));
      assert.deepEqual(
        symbols.map((s) => s.name),
        ['PYZOR_FAIL'],
        `${host}: ${JSON.stringify(symbols)}`,
      );
      assert.match(symbols[0].detail ?? '', new RegExp(host.replace(/\./g, '\\.')));
    }
  } finally {
    await dns.stop();
  }
});
