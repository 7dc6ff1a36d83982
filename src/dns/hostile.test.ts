// Our own DNS packets (secure.ts, and the resolver's fallback for names c-ares refuses) against a hostile
// or broken nameserver on 127.0.0.1: malformed, truncated, spoofed and off-question answers.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { type DnsServer, startDnsServer } from '../../test/helpers/dns-server.ts';
import { createResolver, isDnsError } from './resolver.ts';
import { createSecureLookup } from './secure.ts';

let dns: DnsServer;
before(async () => {
  dns = await startDnsServer({
    'ok.test': { A: ['127.0.0.1'], TXT: [['v=spf1 -all']] },
    'a+c._spf.ok.test': { CNAME: 'ok.test' },
  });
});
after(() => dns.stop());

const lookup = (nameservers = [dns.address]) =>
  createSecureLookup({ nameservers, timeoutMs: 300, tries: 1, trustAd: false });
const tempfail = (e: unknown) => isDnsError(e, 'TEMPFAIL');

/** A response to `query` with the given answers, as a well-behaved server would encode it. */
function reply(query: dnsPacket.DecodedPacket, answers: dnsPacket.Answer[], flags = 0): Buffer {
  return dnsPacket.encode({ id: query.id, type: 'response', flags, questions: query.questions, answers });
}

test('a TXT record whose RDLENGTH runs past the end of the message is no answer', async () => {
  dns.raw.set('TXT cut.test', (q) => {
    const b = reply(q, [{ type: 'TXT', name: 'cut.test', data: ['hello'] }]);
    // The last record's RDLENGTH and its one character-string claim 100 octets; only 6 are there.
    b.writeUInt16BE(100, b.length - 8);
    b[b.length - 6] = 99;
    return b;
  });
  await assert.rejects(lookup()('cut.test', 'TXT'), tempfail);
});

test('an A record whose RDLENGTH is not 4 is no answer (the records after it would be misread)', async () => {
  dns.raw.set('A len.test', (q) => {
    const b = reply(q, [{ type: 'A', name: 'len.test', data: '127.0.0.66' }]);
    b.writeUInt16BE(2, b.length - 6);
    return b;
  });
  await assert.rejects(lookup()('len.test', 'A'), tempfail);
});

test('a TXT character-string overrunning its RDLENGTH is no answer', async () => {
  dns.raw.set('TXT over.test', (q) => {
    const b = reply(q, [
      { type: 'TXT', name: 'over.test', data: ['ab'] },
      { type: 'TXT', name: 'over.test', data: ['cd'] },
    ]);
    // First record: RDLENGTH 3 ("\x02ab"), string length raised to 5 so it would swallow the next record.
    const first = b.indexOf(Buffer.from([0, 3, 2, 0x61, 0x62]));
    b[first + 2] = 5;
    return b;
  });
  await assert.rejects(lookup()('over.test', 'TXT'), tempfail);
});

test('compression pointers that loop, point forward or out of the message are no answer', async () => {
  for (const [label, target] of [
    ['loop', 'self'],
    ['fwd', 'forward'],
    ['out', 'outside'],
  ] as const) {
    const name = `${label}.test`;
    dns.raw.set(`A ${name}`, (q) => {
      const b = reply(q, [{ type: 'A', name, data: '127.0.0.66' }]);
      // The answer's owner name starts right after the question (12 + name + 4); make it a pointer.
      const at = 12 + (name.length + 2) + 4;
      const to = target === 'self' ? at : target === 'forward' ? at + 4 : 0x3fff;
      const rest = b.subarray(at + name.length + 2);
      const ptr = Buffer.from([0xc0 | (to >> 8), to & 0xff]);
      return Buffer.concat([b.subarray(0, at), ptr, rest]);
    });
    await assert.rejects(lookup()(name, 'A'), tempfail, name);
  }
});

test('more answers counted than present, and a label over 63 octets, are no answer', async () => {
  dns.raw.set('A count.test', (q) => {
    const b = reply(q, [{ type: 'A', name: 'count.test', data: '127.0.0.66' }]);
    b.writeUInt16BE(5, 6);
    return b;
  });
  await assert.rejects(lookup()('count.test', 'A'), tempfail);
  dns.raw.set('A label.test', (q) => {
    const b = reply(q, [{ type: 'A', name: 'label.test', data: '127.0.0.66' }]);
    const at = 12 + 'label.test'.length + 2 + 4;
    b[at] = 0x45; // 01 in the top bits: neither a label length nor a pointer (RFC 1035 section 4.1.4)
    return b;
  });
  await assert.rejects(lookup()('label.test', 'A'), tempfail);
});

test('answers with another ID or to another question are ignored, not taken', async () => {
  dns.raw.set('A id.test', (q) =>
    reply({ ...q, id: ((q.id ?? 0) + 1) & 0xffff }, [{ type: 'A', name: 'id.test', data: '127.0.0.66' }]),
  );
  await assert.rejects(lookup()('id.test', 'A'), tempfail);
  dns.raw.set('A q.test', (q) =>
    reply({ ...q, questions: [{ type: 'A', name: 'ok.test', class: 'IN' }] }, [
      { type: 'A', name: 'ok.test', data: '127.0.0.66' },
    ]),
  );
  await assert.rejects(lookup()('q.test', 'A'), tempfail);
  dns.raw.set('TXT t.test', (q) =>
    reply({ ...q, questions: [{ type: 'A', name: 't.test', class: 'IN' }] }, [
      { type: 'A', name: 't.test', data: '127.0.0.66' },
    ]),
  );
  await assert.rejects(lookup()('t.test', 'TXT'), tempfail);
});

test('an empty datagram and a zero-length TCP answer are no answer', async () => {
  dns.raw.set('A empty.test', () => Buffer.alloc(0));
  await assert.rejects(lookup()('empty.test', 'A'), tempfail);
  dns.raw.set('A zero.test', (q, udp) => (udp ? reply(q, [], dnsPacket.TRUNCATED_RESPONSE) : Buffer.alloc(0)));
  await assert.rejects(lookup()('zero.test', 'A'), tempfail);
});

test('a truncated UDP answer is asked once more over TCP, and a TCP answer that is truncated again fails', async () => {
  const tcp = dns.tcpQueries;
  dns.raw.set('A tc.test', (q) => reply(q, [], dnsPacket.TRUNCATED_RESPONSE));
  await assert.rejects(lookup()('tc.test', 'A'), tempfail);
  assert.equal(dns.tcpQueries - tcp, 1);
});

test('a UDP answer from another port than the one asked is ignored (RFC 5452 section 3)', async () => {
  const server = createSocket('udp4');
  const spoofer = createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => spoofer.bind(0, '127.0.0.1', () => r()));
  server.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const forged = reply(q, [{ type: 'A', name: 'spoof.test', data: '127.0.0.66' }]);
    const real = reply(q, [{ type: 'A', name: 'spoof.test', data: '127.0.0.1' }]);
    // The forged one first, from the right address but another port; then the real one.
    spoofer.send(forged, rinfo.port, rinfo.address, () => server.send(real, rinfo.port, rinfo.address));
  });
  try {
    const a = await lookup([`127.0.0.1:${server.address().port}`])('spoof.test', 'A');
    assert.deepEqual(
      a.records.map((r) => r.data),
      ['127.0.0.1'],
    );
  } finally {
    server.close();
    spoofer.close();
  }
});

/**
 * A nameserver on 127.0.0.2 that answers every UDP query truncated, so the question comes again over TCP,
 * where `onConnection` answers it. `stop` closes both and every connection.
 */
async function tcpAnswering(onConnection: (s: Socket) => void): Promise<{ address: string; stop(): Promise<void> }> {
  const conns: Socket[] = [];
  const tcp = createServer((s) => {
    conns.push(s);
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.2', () => r()));
  const port = (tcp.address() as AddressInfo).port;
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(port, '127.0.0.2', () => r()));
  udp.on('message', (msg, rinfo) =>
    udp.send(reply(dnsPacket.decode(msg), [], dnsPacket.TRUNCATED_RESPONSE), rinfo.port, rinfo.address),
  );
  return {
    address: `127.0.0.2:${port}`,
    async stop() {
      for (const c of conns) c.destroy();
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

test('a TCP answer announcing 65535 octets and dripping them is given up at the timeout', {
  timeout: 10_000,
}, async () => {
  const drips: NodeJS.Timeout[] = [];
  const server = await tcpAnswering((s) => {
    s.write(Buffer.from([0xff, 0xff]));
    const t = setInterval(() => s.write(Buffer.alloc(1)), 20);
    drips.push(t);
    s.on('close', () => clearInterval(t));
  });
  try {
    await assert.rejects(lookup([server.address])('drip.test', 'A'), tempfail);
  } finally {
    for (const t of drips) clearInterval(t);
    await server.stop();
  }
});

test('a TCP answer written one octet at a time (its length too) is read whole', { timeout: 10_000 }, async () => {
  const server = await tcpAnswering((s) => {
    s.once('data', async (d) => {
      const q = dnsPacket.decode(d.subarray(2));
      const msg = reply(q, [{ type: 'A', name: 'slow.test', data: '127.0.0.9' }]);
      const framed = Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);
      for (const octet of framed) {
        s.write(Buffer.from([octet]));
        await new Promise((r) => setTimeout(r, 1));
      }
    });
  });
  try {
    const a = await createSecureLookup({ nameservers: [server.address], timeoutMs: 5000, tries: 1, trustAd: false })(
      'slow.test',
      'A',
    );
    assert.deepEqual(
      a.records.map((r) => r.data),
      ['127.0.0.9'],
    );
  } finally {
    await server.stop();
  }
});

test('a nameserver that answers nothing fails the lookup after its timeout', { timeout: 10_000 }, async () => {
  dns.silent.add('quiet.test');
  dns.silent.add('a+b._spf.quiet.test');
  await assert.rejects(lookup()('quiet.test', 'A'), tempfail);
  const packetLookup = lookup();
  const r = createResolver({ nameservers: [dns.address], timeoutMs: 300, tries: 1, packetLookup });
  await assert.rejects(r.a('quiet.test'), tempfail);
  await assert.rejects(r.a('a+b._spf.quiet.test'), tempfail);
});

test('names c-ares refuses: records of other owners in the answer are not taken, a CNAME chain is', async () => {
  dns.raw.set('A a+b._spf.ok.test', (q) => reply(q, [{ type: 'A', name: 'elsewhere.test', data: '127.0.0.66' }]));
  const r = createResolver({ nameservers: [dns.address], timeoutMs: 300, tries: 1, packetLookup: lookup() });
  assert.deepEqual(await r.a('a+b._spf.ok.test'), []);
  assert.deepEqual(await r.a('a+c._spf.ok.test'), ['127.0.0.1']);
});
