// DANE on the way out (RFC 7672) against a real validating resolver: zones signed with ldns-signzone and
// served by a private Unbound on 127.0.0.1 that checks their signatures against its own trust anchors, so
// the AD bit Petrel acts on is Unbound's verdict, not the test's. The MX host is a fake MTA on 127.0.0.2
// with a self-signed certificate; a secure zone, a bogus one and an unsigned one decide what happens to mail.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { selfSignedCert } from '../helpers/certs.ts';
import { commonPort } from '../helpers/fake-mta.ts';
import { deferredReply, startOutbound, tlsReportRows, waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { startUnbound, type TestZone, type Unbound } from '../helpers/unbound.ts';

const unbound = peer('unbound', 'unbound');
const signzone = peer('ldns-signzone', 'ldnsutils');
const skip = unbound.skip ?? signzone.skip;

type Pair = { cert: string; key: string };

const spkiSha256 = (pem: string) =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }) as Buffer)
    .digest('hex');

describe('DANE through Unbound', { skip }, () => {
  let own: Pair; // the fake MTA's self-signed certificate
  let stranger: Pair; // a key nobody serves mail with
  let port: number; // the SMTP port of the fake MTA, in the TLSA owner names
  let resolver: Unbound;

  /** A zone with one MX host, mx1 on 127.0.0.2, whose TLSA record is `3 1 1 <sha256 of spki>`. */
  const zone = (name: string, tlsaFor: string, extra: Partial<TestZone> = {}): TestZone => ({
    name,
    records: ['@ IN MX 10 mx1', 'mx1 IN A 127.0.0.2', `_${port}._tcp.mx1 IN TLSA 3 1 1 ${spkiSha256(tlsaFor)}`],
    ...extra,
  });

  before(async () => {
    own = await selfSignedCert(['some-box.invalid']);
    stranger = await selfSignedCert(['attacker.invalid']);
    port = await commonPort(['127.0.0.2']);
    resolver = await startUnbound({
      unbound: unbound.path ?? undefined,
      zones: [
        zone('dane.test', own.cert),
        zone('mismatch.test', stranger.cert),
        // Signed, but the TLSA record's signature is spoiled: the MX and address validate, the TLSA is bogus.
        zone('bogus.test', own.cert, { bogus: [`_${port}._tcp.mx1`] }),
        zone('plain.test', stranger.cert, { dnssec: 'insecure' }),
      ],
    });
  });
  after(() => resolver?.stop());

  /** Petrel asking Unbound, and only Unbound, with TLS reports on (their "tlsa" rows show DANE was applied). */
  const start = () =>
    startOutbound({
      port,
      configure(c) {
        c.dns.nameservers = [resolver.address];
        c.queue.tls_reports.enabled = true;
        c.queue.tls_reports.from = 'tlsrpt@example.com';
      },
    });

  test('Unbound validates: AD for the signed zone, SERVFAIL for the spoiled record, no AD for the unsigned zone', async () => {
    assert.deepEqual(await resolver.query('dane.test', 'MX'), { rcode: 'NOERROR', ad: true, answers: 2 });
    assert.deepEqual(await resolver.query(`_${port}._tcp.mx1.dane.test`, 'TLSA'), {
      rcode: 'NOERROR',
      ad: true,
      answers: 2,
    });
    assert.equal((await resolver.query('bogus.test', 'MX')).ad, true);
    assert.equal((await resolver.query(`_${port}._tcp.mx1.bogus.test`, 'TLSA')).rcode, 'SERVFAIL');
    assert.match(resolver.log(), /validation failure <_\d+\._tcp\.mx1\.bogus\.test\. TLSA IN>/);
    assert.deepEqual(await resolver.query('plain.test', 'MX'), { rcode: 'NOERROR', ad: false, answers: 1 });
  });

  test('signed zone, TLSA matching the server key: delivered over TLS, DANE-authenticated', async () => {
    const f = await start();
    try {
      const mx1 = await f.mta('127.0.0.2', { tls: own });
      await f.send(['bob@dane.test'], { subject: 'dane via unbound' });
      const [m] = await waitFor(() => mx1.received().length === 1 && mx1.received(), 8000, 'delivery');
      assert.equal(m.tls, true);
      assert.deepEqual(await tlsReportRows(f, 'dane.test'), [['tlsa', 'ok']]);
    } finally {
      await f.stop();
    }
  });

  test('signed zone, TLSA for another key: not delivered, the mail waits (4.7.5)', async () => {
    const f = await start();
    try {
      const mx1 = await f.mta('127.0.0.2', { tls: own });
      const id = await f.send(['bob@mismatch.test'], { subject: 'mismatch via unbound' });
      const w = await deferredReply(f, id);
      assert.equal(w.status, '4.7.5');
      assert.match(w.reply, /DANE: mx1\.mismatch\.test\[127\.0\.0\.2\]: no TLSA record matches/);
      assert.equal(mx1.received().length, 0);
      assert.deepEqual(await tlsReportRows(f, 'mismatch.test'), [['tlsa', 'tlsa-invalid']]);
    } finally {
      await f.stop();
    }
  });

  test('bogus TLSA record (SERVFAIL from the validator): not delivered, deferred, the server not contacted', async () => {
    const f = await start();
    try {
      // The spoiled record names the very key the server has: only validation keeps it out.
      const mx1 = await f.mta('127.0.0.2', { tls: own });
      const id = await f.send(['bob@bogus.test'], { subject: 'bogus via unbound' });
      const w = await deferredReply(f, id);
      assert.match(w.status, /^4\./);
      assert.equal(w.status, '4.4.3');
      assert.match(w.reply, /DANE: mx1\.bogus\.test: TLSA lookup failed/);
      assert.equal(mx1.sessions.length, 0, 'not even contacted');
    } finally {
      await f.stop();
    }
  });

  test('unsigned zone, mismatching TLSA record: delivered anyway (opportunistic TLS)', async () => {
    const f = await start();
    try {
      const mx1 = await f.mta('127.0.0.2', { tls: own });
      await f.send(['bob@plain.test'], { subject: 'unsigned via unbound' });
      const [m] = await waitFor(() => mx1.received().length === 1 && mx1.received(), 8000, 'delivery');
      assert.equal(m.tls, true);
      assert.ok(!(await tlsReportRows(f, 'plain.test')).some(([type]) => type === 'tlsa'), 'DANE not applied');
    } finally {
      await f.stop();
    }
  });
});
