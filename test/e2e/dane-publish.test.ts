// DANE end to end between two Petrels: the receiver keeps the quick start's self-signed certificate, which
// no CA vouches for; the TLSA record `petrel domain records` prints for it is published, signed, in the
// sender's DNS, and the sender's queue authenticates the receiver's MX listener by it alone. openssl reads
// the certificate the listener serves, to check the record against what is on the wire.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { daneRecords } from '../../src/smtp/dane-records.ts';
import { sClient } from '../helpers/openssl.ts';
import { type OutboundFixture, startOutbound, tlsReportRows, waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const openssl = peer('openssl', 'openssl');
let receiver: TestServer;
let sender: OutboundFixture;
let tlsa: string;

before(async () => {
  receiver = await startTestServer({
    configure(c) {
      c.server.hostname = 'mx.d.test';
      c.listeners.smtp.enabled = true;
    },
    async beforeServe(app) {
      await app.directory.addDomain('d.test');
      await app.directory.addAccount('bob@d.test', 'secret-pw');
    },
  });
  const [record] = await daneRecords('mx.d.test', await receiver.app.tls())('d.test');
  assert.equal(record.name, '_25._tcp.mx.d.test.');
  tlsa = record.value;
  const [usage, selector, matchingType, hex] = tlsa.split(' ');
  sender = await startOutbound({
    port: receiver.ports.smtp,
    configure(c) {
      c.queue.tls_reports.enabled = true;
    },
  });
  // Signed zone; the TLSA name carries the port mail goes to (here the receiver's, not 25).
  sender.dns.set('d.test', { MX: [{ preference: 10, exchange: 'mx.d.test' }], signed: true });
  sender.dns.set('mx.d.test', { A: ['127.0.0.1'], signed: true });
  sender.dns.set(`_${receiver.ports.smtp}._tcp.mx.d.test`, {
    TLSA: [
      {
        usage: Number(usage),
        selector: Number(selector),
        matchingType: Number(matchingType),
        certificate: Buffer.from(hex, 'hex'),
      },
    ],
    signed: true,
  });
});

after(async () => {
  await sender?.stop();
  await receiver?.stop();
});

test('the printed TLSA record is the SHA-256 of the key the MX listener serves (openssl)', {
  skip: openssl.skip,
}, async () => {
  const r = await sClient({ port: receiver.ports.smtp, starttls: 'smtp', servername: 'mx.d.test' });
  assert.ok(r.ok && r.cert, r.output.slice(-500));
  const spki = r.cert.publicKey.export({ type: 'spki', format: 'der' });
  assert.equal(tlsa, `3 1 1 ${createHash('sha256').update(spki).digest('hex')}`);
});

test('a second Petrel delivers to it over STARTTLS authenticated by DANE, though no CA vouches for it', async () => {
  await sender.send(['bob@d.test'], { subject: 'dane between petrels' });
  const inbox = async () => {
    const acc = await receiver.app.store.getAccount('bob@d.test');
    const mb = await receiver.app.store.getMailbox(acc!.id, 'INBOX');
    return (await receiver.app.store.listMessages(mb!.id)).length;
  };
  await waitFor(async () => (await inbox()) === 1, 10000, 'delivery to bob@d.test');
  // Counted as a policy-compliant session under the "tlsa" policy: DANE, not PKIX, authenticated it.
  assert.deepEqual(await tlsReportRows(sender, 'd.test'), [['tlsa', 'ok']]);
});
