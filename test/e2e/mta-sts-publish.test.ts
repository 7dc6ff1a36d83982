// MTA-STS end to end between two Petrels: the receiver serves its policy for its domain from its HTTPS
// listener (the Host mta-sts.<domain>) with the TXT record `petrel domain add` prints; the sender's queue
// finds the record in the test's own DNS, fetches and caches the policy, and delivers over verified
// STARTTLS to the receiver's MX listener. curl reads the policy as any other sender would.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { mtaStsRecords, ownPolicy } from '../../src/smtp/mta-sts-policy.ts';
import { selfSignedCert } from '../helpers/certs.ts';
import { type OutboundFixture, startOutbound, waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const curl = peer('curl', 'curl');
// Asynchronous: the server answering curl runs in this process.
const run = async (args: string[]) =>
  (await promisify(execFile)(curl.path!, args, { encoding: 'utf8', timeout: 20000 })).stdout;
let dir: string;
let receiver: TestServer;
let sender: OutboundFixture;
let ca: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'petrel-mta-sts-'));
  const cert = await selfSignedCert(['mx.b.test', 'mta-sts.b.test']);
  writeFileSync(join(dir, 'b.crt'), cert.cert);
  writeFileSync(join(dir, 'b.key'), cert.key, { mode: 0o600 });
  ca = join(dir, 'ca.pem');
  writeFileSync(ca, cert.cert);
  receiver = await startTestServer({
    configure(c) {
      c.server.hostname = 'mx.b.test';
      c.listeners.smtp.enabled = true;
      c.listeners.http.tls = true;
      c.tls.cert = join(dir, 'b.crt');
      c.tls.key = join(dir, 'b.key');
      c.smtp.mta_sts_mode = 'enforce';
      c.smtp.mta_sts_max_age = '1d';
      c.smtp.mta_sts_mx = ['backup.b.test'];
    },
    async beforeServe(app) {
      await app.directory.addDomain('b.test');
      await app.directory.addAccount('bob@b.test', 'secret-pw');
    },
  });
  // The receiver's records, as `petrel domain add b.test` prints them, published in the sender's DNS.
  const records = await mtaStsRecords(receiver.app.config)('b.test');
  const txt = records.find((r) => r.type === 'TXT')!.value.replace(/^"|"$/g, '');
  sender = await startOutbound({
    port: receiver.ports.smtp,
    zones: {
      'b.test': { MX: [{ preference: 10, exchange: 'mx.b.test' }] },
      'mx.b.test': { A: ['127.0.0.1'] },
      'mta-sts.b.test': { A: ['127.0.0.1'] },
      '_mta-sts.b.test': { TXT: [[txt]] },
    },
    configure(c) {
      c.queue.tls_ca = ca;
      c.queue.mta_sts_port = receiver.ports.http!;
    },
  });
});

after(async () => {
  await sender?.stop();
  await receiver?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the policy is served for hosted domains only, as text/plain, over HTTPS (curl)', {
  skip: curl.skip,
}, async () => {
  const get = (host: string) =>
    run([
      '-sS',
      '--cacert',
      ca,
      '--resolve',
      `${host}:${receiver.ports.http}:127.0.0.1`,
      '-w',
      '\n%{http_code} %{content_type}',
      `https://${host}:${receiver.ports.http}/.well-known/mta-sts.txt`,
    ]);
  const out = await get('mta-sts.b.test');
  assert.equal(
    out,
    'version: STSv1\r\nmode: enforce\r\nmx: mx.b.test\r\nmx: backup.b.test\r\nmax_age: 86400\r\n\n200 text/plain; charset=utf-8',
  );
  assert.equal(out.split('\n200')[0], ownPolicy(receiver.app.config));
  // Not a hosted domain (the certificate does not matter here: -k), and not the policy host name.
  const status = (host: string) =>
    run([
      '-sSk',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      `Host: ${host}`,
      `https://127.0.0.1:${receiver.ports.http}/.well-known/mta-sts.txt`,
    ]);
  assert.equal(await status('mta-sts.other.test'), '404');
  assert.equal(await status('b.test'), '404');
});

test("Petrel to Petrel: the sender fetches the receiver's enforce policy and delivers over verified TLS", async () => {
  await sender.send(['bob@b.test'], { subject: 'under MTA-STS' });
  const stored = await waitFor(
    async () => {
      const acc = await receiver.app.store.getAccount('bob@b.test');
      const mb = await receiver.app.store.getMailbox(acc!.id, 'INBOX');
      const [m] = await receiver.app.store.listMessages(mb!.id);
      return m && (await (await receiver.app.mail.source(m)).read()).toString('utf8');
    },
    10000,
    'delivery to the receiver',
  );
  assert.match(stored, /Subject: under MTA-STS/);
  // Received over TLS (RFC 3848: ESMTPS) from the sending queue.
  assert.match(stored, /with ESMTPS/);
  const cached = await sender.app.store.mtaSts.get('b.test');
  assert.ok(cached, 'the policy is cached');
  assert.deepEqual(JSON.parse(cached.policy), { mode: 'enforce', mx: ['mx.b.test', 'backup.b.test'], maxAge: 86400 });
});
