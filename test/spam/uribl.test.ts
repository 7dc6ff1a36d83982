// URIBL over the wire: a DNS server of the test's own serves a URI blocklist zone; a message whose link's
// registered domain is listed scores the zone's symbol through the real pipeline (bit meanings, several
// zones, our own domains never looked up), and a failing DNS server degrades to a zero-score _FAIL symbol.
// The sender's own domains (envelope, From, Reply-To, HELO) are looked up too, before the links.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createResolver } from '../../src/dns/resolver.ts';
import { uriblCheck } from '../../src/spam/checks/uribl.ts';
import { runPipeline } from '../../src/spam/pipeline.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';
import { openTestMail, type TestMail } from '../helpers/mail.ts';
import { context, msg, spamConfig } from './context.ts';

let dns: DnsServer;
let t: TestMail;
before(async () => {
  dns = await startDnsServer({
    // SURBL-style multi zone: 127.0.0.8 = phishing bit, 127.0.0.64 = abuse bit.
    'evil.example.multi.surbl.test': { A: ['127.0.0.8'] },
    'spammy.example.multi.surbl.test': { A: ['127.0.0.72'] }, // 64 + 8
    'plain.example.dbl.test': { A: ['127.0.1.2'] },
    '2.0.0.192.multi.surbl.test': { A: ['127.0.0.64'] },
    'listed-envelope.example.dbl.test': { A: ['127.0.1.2'] },
    'listed-replyto.example.multi.surbl.test': { A: ['127.0.0.8'] },
  });
  t = await openTestMail('sqlite'); // hosts example.com
});
after(async () => {
  await dns.stop();
  await t.close();
});

function check() {
  const config = spamConfig((s) => {
    s.uribl.zones = ['multi.surbl.test SURBL_MULTI 8:SURBL_PH:6 64:SURBL_ABUSE:5', 'dbl.test DBL:4'];
  });
  const resolver = createResolver({ nameservers: [dns.address], timeoutMs: 2000, tries: 1 });
  return uriblCheck({ resolver, store: t.store, config });
}

async function score(body: string[], type = 'text/plain') {
  const raw = msg('From: a@sender.example', 'To: bob@example.com', `Content-Type: ${type}`, '', ...body);
  return runPipeline(context(raw), {
    checks: [check()],
    thresholds: { junk: 6, reject: 15 },
    timeoutMs: 5000,
    network: true,
  });
}

test('a listed link domain scores its symbol through the pipeline', async () => {
  const v = await score(['<p>Win: <a href="https://www.login.evil.example/x">here</a></p>'], 'text/html');
  assert.deepEqual(
    v.symbols.map((s) => [s.name, s.score]),
    [['SURBL_PH', 6]],
  );
  assert.match(v.symbols[0].detail ?? '', /evil\.example \(multi\.surbl\.test 127\.0\.0\.8\)/);
  assert.equal(v.action, 'junk');
  assert.ok(dns.queries.includes('A evil.example.multi.surbl.test'), 'the registered domain is what is looked up');
});

test('bits, several zones, IP literals, obfuscated URLs; unlisted and local domains score nothing', async () => {
  dns.queries.length = 0;
  const v = await score([
    'see hxxp://spammy[.]example/a and http://plain.example/b and http://192.0.2.2/c',
    'and http://clean.example/ and http://www.example.com/ (ours)',
  ]);
  assert.deepEqual(v.symbols.map((s) => [s.name, s.score]).sort(), [
    ['DBL', 4],
    ['SURBL_ABUSE', 5],
    ['SURBL_PH', 6],
  ]);
  assert.ok(dns.queries.includes('A clean.example.multi.surbl.test'));
  assert.ok(!dns.queries.some((q) => q.includes('example.com.')), 'our own domain is never looked up');
  assert.equal(v.score, 15);
});

test('a failing blocklist server degrades to a zero-score symbol', async () => {
  dns.failing.add('broken.example.multi.surbl.test');
  const v = await score(['http://broken.example/']);
  assert.deepEqual(
    v.symbols.map((s) => [s.name, s.score]),
    [['SURBL_MULTI_FAIL', 0]],
  );
  assert.equal(v.action, 'accept');
});

test('the domains a sender names itself by are looked up first: envelope, From, Reply-To, HELO', async () => {
  dns.queries.length = 0;
  const raw = msg(
    'From: Bank <alerts@mail.clean-from.example>',
    'Reply-To: claims@listed-replyto.example',
    'To: bob@example.com',
    '',
    ...Array.from({ length: 30 }, (_, i) => `http://link${i}.example/`),
  );
  const run = (config = check()) =>
    runPipeline(context(raw, { mailFrom: 'bounce@bounces.listed-envelope.example', helo: 'relay.helo-name.example' }), {
      checks: [config],
      thresholds: { junk: 6, reject: 15 },
      timeoutMs: 5000,
      network: true,
    });
  const v = await run();
  assert.deepEqual(v.symbols.map((s) => [s.name, s.score]).sort(), [
    ['DBL', 4],
    ['SURBL_PH', 6],
  ]);
  assert.match(v.symbols.find((s) => s.name === 'DBL')!.detail ?? '', /^listed-envelope\.example \[sender\]/);
  for (const d of ['clean-from.example', 'helo-name.example'])
    assert.ok(dns.queries.includes(`A ${d}.dbl.test`), `${d} looked up`);
  // 30 links and 4 sender names: the links fill what max_domains (20) leaves.
  const looked = new Set(dns.queries.filter((q) => q.endsWith('.dbl.test')));
  assert.equal(looked.size, 20);

  // Off: only links.
  const config = spamConfig((s) => {
    s.uribl.zones = ['multi.surbl.test SURBL_MULTI 8:SURBL_PH:6 64:SURBL_ABUSE:5', 'dbl.test DBL:4'];
    s.uribl.sender_domains = false;
  });
  const resolver = createResolver({ nameservers: [dns.address], timeoutMs: 2000, tries: 1 });
  assert.deepEqual((await run(uriblCheck({ resolver, store: t.store, config }))).symbols, []);
});

test('network checks are skipped when the pipeline runs offline', async () => {
  const raw = msg('From: a@sender.example', '', 'http://evil.example/');
  const v = await runPipeline(context(raw), {
    checks: [check()],
    thresholds: { junk: 6, reject: 15 },
    timeoutMs: 5000,
    network: false,
  });
  assert.deepEqual(v.symbols, []);
});
