// TLS on the way out: opportunistic STARTTLS (RFC 3207, RFC 7435), falling back to plaintext when the
// handshake fails, and REQUIRETLS (RFC 8689): sent only over verified TLS to a server that offers it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { selfSignedCert } from '../helpers/certs.ts';
import { startOutbound, waitFor } from '../helpers/outbound.ts';

let trusted: { cert: string; key: string };
let untrusted: { cert: string; key: string };
before(async () => {
  trusted = await selfSignedCert(['mx1.secure.test', 'mx2.secure.test']);
  untrusted = await selfSignedCert(['mx1.secure.test', 'mx2.secure.test']);
});

const ZONES = {
  'secure.test': {
    MX: [
      { preference: 10, exchange: 'mx1.secure.test' },
      { preference: 20, exchange: 'mx2.secure.test' },
    ],
  },
  'mx1.secure.test': { A: ['127.0.0.2'] },
  'mx2.secure.test': { A: ['127.0.0.3'] },
};

/** Trusts `trusted` (queue.tls_ca), as a private CA would be. */
async function start() {
  let caFile = '';
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      caFile = join(c.server.data_dir, 'ca.pem');
      writeFileSync(caFile, trusted.cert);
      c.queue.tls_ca = caFile;
    },
  });
  return f;
}

test('STARTTLS is used when offered, even with a certificate nobody vouches for', async () => {
  const f = await start();
  try {
    const mta = await f.mta('127.0.0.2', { tls: untrusted });
    await f.send(['bob@secure.test'], { subject: 'opportunistic' });
    const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 8000, 'delivery');
    assert.equal(m.tls, true);
    const s = mta.sessions[0].commands.map((c) => c.split(' ')[0]);
    assert.deepEqual(s.slice(0, 3), ['EHLO', 'STARTTLS', 'EHLO']);
  } finally {
    await f.stop();
  }
});

test('a failed TLS handshake is retried in plaintext on the same server', async () => {
  const f = await start();
  try {
    const mta = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'STARTTLS'],
      // Says yes to STARTTLS but then speaks no TLS at all.
      script: (cmd) => (cmd === 'STARTTLS' ? '220 2.0.0 go ahead' : undefined),
    });
    await f.send(['bob@secure.test'], { subject: 'fallback' });
    const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 8000, 'delivery');
    assert.equal(m.tls, false);
    assert.equal(mta.sessions.length, 2, 'one session for the failed handshake, one in plaintext');
  } finally {
    await f.stop();
  }
});

test('REQUIRETLS goes only over verified TLS to a server that offers REQUIRETLS; other MX hosts are tried', async () => {
  const f = await start();
  try {
    // mx1: TLS but not REQUIRETLS; mx2: verified TLS and REQUIRETLS.
    const mx1 = await f.mta('127.0.0.2', { tls: trusted });
    const mx2 = await f.mta('127.0.0.3', {
      tls: trusted,
      capabilities: ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES', 'REQUIRETLS'],
    });
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@secure.test' }],
      raw: Buffer.from('Subject: eyes only\r\n\r\nsecret\r\n'),
      requireTls: true,
    });
    const [m] = await waitFor(() => mx2.received().length === 1 && mx2.received(), 8000, 'delivery via mx2');
    assert.equal(m.tls, true);
    assert.match(m.mailLine, / REQUIRETLS$/);
    assert.equal(mx1.received().length, 0);
    assert.ok(mx1.sessions[0].commands.includes('QUIT'), 'mx1 was visited and left without a transaction');
    assert.ok(!mx1.sessions[0].commands.some((c) => c.startsWith('MAIL')));
  } finally {
    await f.stop();
  }
});

test('REQUIRETLS without a suitable server bounces with 5.7.10 / 5.7.30 and only the header returned', async () => {
  const f = await start();
  try {
    // mx1 offers no TLS; mx2 has a certificate we cannot verify.
    await f.mta('127.0.0.2');
    await f.mta('127.0.0.3', { tls: untrusted, capabilities: ['PIPELINING', 'REQUIRETLS'] });
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@secure.test' }],
      raw: Buffer.from('Subject: eyes only\r\n\r\nTOP SECRET BODY\r\n'),
      requireTls: true,
      ret: 'FULL',
    });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      8000,
      'the DSN',
    );
    assert.match(dsn, /Action: failed\r\nStatus: 5\.7\.10\r\n/);
    assert.match(dsn, /REQUIRETLS: certificate not verified/);
    // RFC 8689 section 5: RET=FULL is disregarded for REQUIRETLS messages.
    assert.match(dsn, /Content-Type: text\/rfc822-headers/);
    assert.doesNotMatch(dsn, /TOP SECRET BODY/);
  } finally {
    await f.stop();
  }
});

test('REQUIRETLS to a verified server that does not offer REQUIRETLS: 5.7.30', async () => {
  const f = await start();
  try {
    await f.mta('127.0.0.2', { tls: trusted });
    await f.mta('127.0.0.3', { tls: trusted });
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@secure.test' }],
      raw: Buffer.from('Subject: eyes only\r\n\r\nx\r\n'),
      requireTls: true,
    });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      8000,
      'the DSN',
    );
    assert.match(dsn, /Status: 5\.7\.30\r\n/);
    assert.match(dsn, /REQUIRETLS: not supported by the server/);
  } finally {
    await f.stop();
  }
});
