// The `petrel` command as a user runs it: a real process on a real data directory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { selfSignedCert } from '../helpers/certs.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { RawImap } from '../helpers/imap-client.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { startPetrel, stopPetrel } from './petrel-process.ts';

const run = promisify(execFile);
const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function petrel(args: string[], env: Record<string, string> = {}, cwd = dir) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

test('account add then list; the stored hash is Argon2id; works on ./data like npm start', async () => {
  // The first use of a fresh ./data bootstraps it like `npm start` does: domain localhost and an admin.
  const add = await petrel(['account', 'add', 'alice@localhost', '--password', 'secret']);
  assert.equal(add.code, 0, add.err);
  assert.match(add.err, /created domain localhost and administrator admin@localhost/);
  assert.match(add.out, /account alice@localhost added/);
  assert.doesNotMatch(add.out + add.err, /secret/, 'the password is not echoed');
  const list = await petrel(['account', 'list']);
  assert.match(list.out, /^alice@localhost\tuser\t/m);
  assert.match(list.out, /^admin@localhost\tadmin\t/m);
  assert.doesNotMatch(list.err, /Password/, 'the bootstrap password is printed only once');
  const db = new Database(join(dir, 'data', 'petrel.db'), { readonly: true });
  const row = db.prepare('SELECT password_hash FROM accounts WHERE address = ?').get('alice@localhost') as {
    password_hash: string;
  };
  db.close();
  assert.match(row.password_hash, /^\$argon2id\$v=19\$/);
  const pw = await petrel(['account', 'passwd', 'alice@localhost', '--password', 'other']);
  assert.equal(pw.code, 0);
});

test('clear errors for a duplicate address, a missing domain, a bad address, a bad command', async () => {
  const dup = await petrel(['account', 'add', 'ALICE@localhost', '--password', 'x']);
  assert.equal(dup.code, 1);
  assert.match(dup.err, /account alice@localhost already exists/);
  const nodom = await petrel(['account', 'add', 'bob@nowhere.test', '--password', 'x']);
  assert.equal(nodom.code, 1);
  assert.match(nodom.err, /domain nowhere\.test is not hosted here/);
  const bad = await petrel(['account', 'add', 'no-at-sign', '--password', 'x']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /not a valid address/);
  const usage = await petrel(['frobnicate']);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /unknown command "frobnicate"/);
  const missing = await petrel(['account', 'remove', 'ghost@localhost']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no such account: ghost@localhost/);
});

test('aliases, tenants and domains round-trip through the CLI', async () => {
  assert.equal((await petrel(['alias', 'add', 'info@localhost', 'alice@localhost'])).code, 0);
  assert.equal((await petrel(['alias', 'add', '@localhost', 'alice@localhost'])).code, 0);
  assert.match((await petrel(['alias', 'list'])).out, /info@localhost\talias\talice@localhost/);
  assert.equal((await petrel(['tenant', 'add', 'acme', '--quota', '1G'])).code, 0);
  assert.equal((await petrel(['domain', 'add', 'acme.test', '--tenant', 'acme'])).code, 0);
  assert.match((await petrel(['tenant', 'list'])).out, /acme\tquota=1073741824/);
  assert.match((await petrel(['domain', 'list'])).out, /acme\.test\ttenant=acme/);
  const rm = await petrel(['domain', 'remove', 'localhost']);
  assert.equal(rm.code, 1, 'a domain with accounts cannot be removed');
  assert.equal((await petrel(['domain', 'remove', 'acme.test'])).code, 0);
});

test("domain records: every record of a hosted domain, with the TLSA record of the served certificate's key", async () => {
  const r = await petrel(['domain', 'records', 'localhost']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^localhost\.\t3600\tIN\tMX\t10 /m);
  const tlsa = /^_25\._tcp\.([^\t]+)\t3600\tIN\tTLSA\t3 1 1 ([0-9a-f]{64})$/m.exec(r.out);
  assert.ok(tlsa, r.out);
  // The SHA-256 of the public key of the certificate the listeners serve (the quick start's self-signed one),
  // as openssl computes it from the file.
  const sh = (cmd: string) => run('sh', ['-c', cmd], { cwd: dir }).then((x) => x.stdout);
  const digest = await sh(
    'openssl x509 -in data/tls/self-signed.crt -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r',
  );
  assert.equal(tlsa[2], digest.split(' ')[0]);
  const missing = await petrel(['domain', 'records', 'nowhere.test']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no such domain: nowhere\.test/);
});

test('an IDN domain is named in any form (U-label, A-label, case, trailing dot) by every domain and account command', async () => {
  const add = await petrel(['domain', 'add', 'Bücher.test']);
  assert.equal(add.code, 0, add.err);
  assert.match((await petrel(['domain', 'list'])).out, /^xn--bcher-kva\.test\ttenant=/m);
  for (const name of ['bücher.test', 'BÜCHER.TEST.', 'xn--bcher-kva.test']) {
    const r = await petrel(['domain', 'records', name]);
    assert.equal(r.code, 0, `${name}: ${r.err}`);
    assert.match(r.out, /^xn--bcher-kva\.test\.\t3600\tIN\tMX\t10 /m);
  }
  assert.equal((await petrel(['account', 'add', 'leser@bücher.test', '--password', 'x'])).code, 0);
  for (const name of ['bücher.test', 'Xn--Bcher-Kva.Test.']) {
    const r = await petrel(['account', 'list', '--domain', name]);
    assert.equal(r.code, 0, `${name}: ${r.err}`);
    assert.deepEqual(
      r.out
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
      ['leser@xn--bcher-kva.test'],
    );
  }
  assert.equal((await petrel(['account', 'remove', 'leser@bücher.test'])).code, 0);
  assert.equal((await petrel(['domain', 'remove', 'BÜCHER.test'])).code, 0);
  const gone = await petrel(['domain', 'records', 'bücher.test']);
  assert.equal(gone.code, 2);
  assert.match(gone.err, /no such domain: bücher\.test/);
});

test('domain check: each printed record looked up in the DNS; exit 1 until the required ones are right', async () => {
  const add = await petrel(['domain', 'add', 'check.test']);
  assert.equal(add.code, 0, add.err);
  const records = add.out
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length === 5)
    .map(([name, , , type, value]) => ({ name: name.replace(/\.$/, ''), type, value }));
  const dns = await startDnsServer();
  try {
    const zone = (name: string) => {
      const z = dns.zones.get(name) ?? {};
      dns.set(name, z);
      return z;
    };
    /** Publishes a printed record as the admin would (A/AAAA placeholders get loopback addresses). */
    const publish = (r: { name: string; type: string; value: string }) => {
      const z = zone(r.name);
      if (r.type === 'MX') z.MX = [{ preference: 10, exchange: r.value.split(' ')[1].replace(/\.$/, '') }];
      if (r.type === 'A') z.A = ['127.0.0.1'];
      if (r.type === 'TXT') (z.TXT ??= []).push((r.value.match(/"([^"]*)"/g) ?? []).map((x) => x.slice(1, -1)));
      if (r.type === 'CNAME') z.CNAME = r.value.replace(/\.$/, '');
      if (r.type === 'SRV') {
        const [priority, weight, port, target] = r.value.split(' ');
        (z.SRV ??= []).push({ priority: +priority, weight: +weight, port: +port, target: target.replace(/\.$/, '') });
      }
      if (r.type === 'TLSA') {
        const [usage, selector, matchingType, hex] = r.value.split(' ');
        z.TLSA = [
          { usage: +usage, selector: +selector, matchingType: +matchingType, certificate: Buffer.from(hex, 'hex') },
        ];
      }
    };
    // Half done: MX, host address, SPF and DKIM as printed; a DMARC policy of one's own; a stale MTA-STS id.
    for (const r of records) if (['MX', 'A'].includes(r.type) || /v=spf1|v=DKIM1/.test(r.value)) publish(r);
    zone('_dmarc.check.test').TXT = [['v=DMARC1; p=reject']];
    zone('_mta-sts.check.test').TXT = [['v=STSv1; id=0ld']];
    const env = { PETREL_DNS_NAMESERVERS: dns.address, PETREL_DNS_TIMEOUT_MS: '500' };
    const first = await petrel(['domain', 'check', 'check.test'], env);
    assert.equal(first.code, 1, first.out + first.err);
    const status = (out: string, name: string, type: string) =>
      new RegExp(`^(\\S+)\\s+${type}\\s+${name.replace(/\./g, '\\.')}\\.?(\\s|$)`, 'm').exec(out)?.[1];
    assert.equal(status(first.out, 'check.test', 'MX'), 'ok');
    const dkim = records.find((r) => r.value.includes('v=DKIM1'))!;
    assert.equal(status(first.out, dkim.name, 'TXT'), 'ok');
    assert.equal(status(first.out, '_dmarc.check.test', 'TXT'), 'custom', "a policy of the admin's own is fine");
    assert.equal(status(first.out, '_mta-sts.check.test', 'TXT'), 'different');
    assert.equal(status(first.out, 'autoconfig.check.test', 'CNAME'), 'missing');
    assert.equal(status(first.out, '_imaps._tcp.check.test', 'SRV'), 'missing');
    assert.match(first.out, /record\(s\) to fix$/m);
    // Everything as printed: exit 0; the TLSA record is there but the zone is not signed, so DANE will not apply.
    dns.zones.clear();
    for (const r of records) publish(r);
    // The host's address (127.0.0.1 here) in the monitored blocklists: listed in one, an error code from
    // another (Spamhaus's answer to public resolvers), absent from a third.
    zone('1.0.0.127.bl.check.test').A = ['127.0.0.2'];
    zone('1.0.0.127.refusing.check.test').A = ['127.255.255.254'];
    const monitored = { ...env, PETREL_SPAM_DNSBL_MONITOR: 'bl.check.test,refusing.check.test,clean.check.test' };
    const listed = await petrel(['domain', 'check', 'check.test'], monitored);
    assert.equal(listed.code, 1, listed.out + listed.err);
    assert.match(listed.out, /every required record is in place/);
    assert.match(listed.out, /^listed\s+DNSBL 127\.0\.0\.1 in bl\.check\.test\s+\(127\.0\.0\.2\)$/m);
    assert.match(
      listed.out,
      /^failed\s+DNSBL 127\.0\.0\.1 in refusing\.check\.test\s+\(error code 127\.255\.255\.254\)$/m,
    );
    assert.match(listed.out, /^ok\s+DNSBL 127\.0\.0\.1 in clean\.check\.test$/m);
    assert.match(listed.out, /listed in 1 blocklist\(s\)/);
    dns.zones.delete('1.0.0.127.bl.check.test');
    // An allow list used with negative scores (DNSWL) that lists us is good news, not a blocklist listing.
    zone('1.0.0.127.wl.check.test').A = ['127.0.10.2'];
    const second = await petrel(['domain', 'check', 'check.test'], {
      ...monitored,
      PETREL_SPAM_DNSBL_ZONES: 'wl.check.test=127.0.10.0-127.0.10.255:DNSWL:-2',
    });
    assert.doesNotMatch(second.out, /wl\.check\.test/);
    assert.equal(second.code, 0, second.out + second.err);
    assert.match(second.out, /^unsigned\s+TLSA\s+_25\._tcp\./m);
    assert.match(second.out, /every required record is in place/);
    assert.match(second.out, /not on any blocklist checked/);
  } finally {
    await dns.stop();
  }
});

test('a config with a misspelt key is refused with file, line and key named', async () => {
  const cfg = join(dir, 'petrel.toml');
  writeFileSync(cfg, '[server]\nhostname = "mx.example.com"\n[store]\nbackedn = "sqlite"\n');
  const r = await petrel(['config', 'check', '--config', cfg]);
  assert.equal(r.code, 1);
  assert.match(
    r.err,
    new RegExp(
      `${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: unknown key "store\\.backedn" \\(did you mean "backend"\\?\\)`,
    ),
  );
  const serve = await petrel(['serve', '--config', cfg]);
  assert.equal(serve.code, 1, 'serve refuses to start on it too');
  assert.match(serve.err, /unknown key "store\.backedn"/);
});

test('config check parses what the server parses at start, and lists every problem', async () => {
  const cfg = join(dir, 'values.toml');
  writeFileSync(
    cfg,
    [
      '[spam]',
      'rules = ["LOCAL_OK subject /fine/ 1", "LOCAL_BAD subject /(unclosed/ 1"]',
      'weights = ["SPF_FAIL=high"]',
      '[spam.dnsbl]',
      'zones = ["zen.spamhaus.org=127.0.0.2:SBL", "bl.spamcop.net"]',
      // A zone whose TXT is to be skipped, and one named wrong (it would skip nothing).
      'skip_txt = ["BL.spamcop.net.", "bl.spamcop.nett"]',
      '[spam.uribl]',
      // A code that does not parse was dropped without a word: the refusal it names then scored as a listing.
      'zones = ["dbl.spamhaus.org DBL 127.0.1.2:DBL_SPAM:6 127.0.1.255:DBL-BLOCKED:0", "multi.uribl.com URIBL:high"]',
      '[spam.ebl]',
      'zones = ["ebl.msbl.org MSBL_EBL:5 hash=sha3"]',
      '[spam.greylist]',
      'delay = "five minutes"',
      '[spam.traps]',
      'addresses = ["not-an-address"]',
      '',
    ].join('\n'),
  );
  const r = await petrel(['config', 'check', '--config', cfg]);
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(r.err, /spam\.rules: bad pattern in "LOCAL_BAD subject \/\(unclosed\/ 1"/);
  assert.match(r.err, /spam\.weights: "SPF_FAIL=high" is not SYMBOL=score/);
  assert.match(r.err, /spam\.dnsbl\.zones: "127\.0\.0\.2:SBL" .* is not CODE:SYMBOL:SCORE/);
  assert.match(r.err, /spam\.dnsbl\.skip_txt: "bl\.spamcop\.nett" is none of spam\.dnsbl\.zones/);
  assert.doesNotMatch(r.err, /skip_txt: "BL\.spamcop\.net\."/);
  assert.match(r.err, /spam\.uribl\.zones: "127\.0\.1\.255:DBL-BLOCKED:0" in "dbl\.spamhaus\.org [^"]*" is not/);
  assert.match(r.err, /spam\.uribl\.zones: "URIBL:high" in "multi\.uribl\.com URIBL:high" is not/);
  assert.match(r.err, /spam\.ebl\.zones: unknown hash in "ebl\.msbl\.org MSBL_EBL:5 hash=sha3"/);
  assert.match(r.err, /spam\.greylist\.delay: "five minutes" is not a duration/);
  assert.match(r.err, /spam\.traps\.addresses: "not-an-address" is neither/);
  assert.doesNotMatch(r.out, /configuration is valid/);
  const serve = await petrel(['serve', '--config', cfg]);
  assert.equal(serve.code, 1, 'serve refuses to start on it too');
});

test('config check and serve name every bad duration, address, cipher list and URL; serve says it in one line', async () => {
  const cfg = join(dir, 'start-values.toml');
  writeFileSync(
    cfg,
    [
      '[tls]',
      'watch_interval = "every minute"',
      'ciphers = "NOT-A-CIPHER"',
      '[acme]',
      'check_interval = "twice a day"',
      '[otlp]',
      'interval = "1 minute"',
      'endpoint = "collector:4318"',
      '[dns]',
      'nameservers = ["127.0.0.1", "resolver.example"]',
      '[listeners.smtp]',
      'bind = "999.1.1.1"',
      '[smtp]',
      'mta_sts_max_age = "a week"',
      '[queue]',
      'lease = "15 min"',
      'poll_interval = "30 s ago"',
      'retry_schedule = ["5m", "ten minutes"]',
      '[queue.tls_reports]',
      'interval = "daily"',
      '[spam.dmarc_reports]',
      'interval = "daily"',
      '',
    ].join('\n'),
  );
  const keys = [
    'tls.watch_interval',
    'tls.ciphers',
    'acme.check_interval',
    'otlp.interval',
    'otlp.endpoint',
    'dns.nameservers: "resolver.example"',
    'listeners.smtp.bind',
    'smtp.mta_sts_max_age',
    'queue.lease',
    'queue.poll_interval',
    'queue.retry_schedule[1]',
    'queue.tls_reports.interval',
    'spam.dmarc_reports.interval',
  ];
  const check = await petrel(['config', 'check', '--config', cfg]);
  assert.equal(check.code, 1, check.out + check.err);
  assert.deepEqual(
    keys.filter((k) => !check.err.includes(k)),
    [],
    check.err,
  );
  const serve = await petrel(['serve', '--config', cfg]);
  assert.equal(serve.code, 1, serve.err);
  assert.deepEqual(
    keys.filter((k) => !serve.err.includes(k)),
    [],
    serve.err,
  );
  assert.doesNotMatch(serve.err, /unexpected error|\n\s+at /, 'no stack trace');
  // A port taken by another process: one line naming the listener and the address.
  const held = createServer();
  await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
  const port = (held.address() as AddressInfo).port;
  try {
    const busy = await petrel(['serve'], { PETREL_LISTENERS_SMTP_PORT: String(port) }, mkdtempSync(join(dir, 'busy-')));
    assert.equal(busy.code, 1, busy.err);
    assert.match(
      busy.err,
      new RegExp(`^petrel serve: listeners\\.smtp: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`, 'm'),
    );
    assert.doesNotMatch(busy.err, /unexpected error|\n\s+at /, 'no stack trace');
  } finally {
    held.close();
  }
});

test("config check and serve name a [tls] certificate file that is missing, not PEM, or not the key's", async () => {
  // The README's own [tls] example, with files not there yet, passed config check and then stopped serve
  // with "unexpected error" and a stack trace.
  const cwd = mkdtempSync(join(dir, 'tls-files-'));
  const a = await selfSignedCert(['mail.example.com']);
  const b = await selfSignedCert(['example.org']);
  writeFileSync(join(cwd, 'a.crt'), a.cert);
  writeFileSync(join(cwd, 'b.key'), b.key);
  writeFileSync(join(cwd, 'notes.txt'), 'not a certificate\n');
  writeFileSync(
    join(cwd, 'petrel.toml'),
    [
      '[tls]',
      `cert = "${join(cwd, 'missing.crt')}"`,
      `key = "${join(cwd, 'b.key')}"`,
      '[[tls.certificates]]',
      'domains = ["example.org"]',
      `cert = "${join(cwd, 'notes.txt')}"`,
      `key = "${join(cwd, 'b.key')}"`,
      '[[tls.certificates]]',
      `cert = "${join(cwd, 'a.crt')}"`,
      `key = "${join(cwd, 'b.key')}"`,
      '',
    ].join('\n'),
  );
  const check = await petrel(['config', 'check'], {}, cwd);
  assert.equal(check.code, 1, check.out + check.err);
  assert.match(check.err, /^tls\.cert: cannot read .*missing\.crt/m);
  assert.match(check.err, /^tls\.certificates\[0\]\.cert: .*notes\.txt/m);
  assert.match(check.err, /^tls\.certificates\[1\]: .*a\.crt.* and .*b\.key.* do not go together/m);
  const serve = await petrel(['serve'], {}, cwd);
  assert.equal(serve.code, 1, serve.err);
  assert.match(serve.err, /tls\.cert: cannot read .*missing\.crt/);
  assert.doesNotMatch(serve.err, /unexpected error|\n\s+at /, 'no stack trace');
  // One without the other is named too.
  writeFileSync(join(cwd, 'petrel.toml'), `[tls]\ncert = "${join(cwd, 'a.crt')}"\n`);
  const half = await petrel(['config', 'check'], {}, cwd);
  assert.equal(half.code, 1, half.out + half.err);
  assert.match(half.err, /tls\.cert and tls\.key must be set together/);
});

test('a data directory others may read is warned about; the database in it is private all the same', async () => {
  const cwd = mkdtempSync(join(dir, 'open-'));
  mkdirSync(join(cwd, 'data'));
  chmodSync(join(cwd, 'data'), 0o755); // as a package, systemd's StateDirectory= or a volume makes it
  const r = await petrel(['domain', 'list'], {}, cwd);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /the data directory is open to other users; make it private \(chmod 700\)/);
  assert.equal((statSync(join(cwd, 'data', 'petrel.db')).mode & 0o777).toString(8), '600');
});

test('a PETREL_* variable that matches no key is a problem for config check and a warning from serve', async () => {
  const env = { PETREL_LISTENERS_SMTP_BND: '::', PETREL_SECURITY_LOCKOUT: '60' };
  const cwd = mkdtempSync(join(dir, 'env-'));
  const check = await petrel(['config', 'check'], env, cwd);
  assert.equal(check.code, 1, check.out + check.err);
  assert.match(
    check.err,
    /environment PETREL_LISTENERS_SMTP_BND: no such key \(did you mean "PETREL_LISTENERS_SMTP_BIND"\?\)/,
  );
  assert.match(
    check.err,
    /environment PETREL_SECURITY_LOCKOUT: no such key \(did you mean "PETREL_SECURITY_LOCKOUT_S"\?\)/,
  );
  // Not a key, and not reported: a test knob.
  const fine = await petrel(['config', 'check'], { PETREL_TEST_SOMETHING: '1' }, cwd);
  assert.equal(fine.code, 0, fine.err);
  const s = await startPetrel(cwd, env);
  try {
    const warned = s
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"level":"warn"') && l.includes('no such key'));
    assert.equal(warned.length, 2, s.stdout());
    assert.match(
      warned.join('\n'),
      /PETREL_LISTENERS_SMTP_BND: no such key \(did you mean \\"PETREL_LISTENERS_SMTP_BIND\\"\?\); ignored/,
    );
  } finally {
    await stopPetrel(s.child);
  }
});

test('init writes a production config that validates, and the DNS records', async () => {
  const out = join(dir, 'prod');
  const r = await petrel(['init', '--domain', 'example.com', '--hostname', 'mail.example.com', '--dir', out]);
  assert.equal(r.code, 0, r.err);
  const text = readFileSync(join(out, 'petrel.toml'), 'utf8');
  assert.match(text, /^port = 25$/m);
  assert.match(text, /^port = 993$/m);
  assert.match(text, /^hostname = "mail\.example\.com"$/m);
  assert.match(
    readFileSync(join(out, 'dns-records.txt'), 'utf8'),
    /example\.com\.\t3600\tIN\tMX\t10 mail\.example\.com\./,
  );
  assert.match(r.out, /_dmarc\.example\.com\./);
  // MTA-STS: the policy host and the TXT record whose id the served policy gives (RFC 8461).
  assert.match(r.out, /mta-sts\.example\.com\.\t3600\tIN\tCNAME\tmail\.example\.com\./);
  assert.match(r.out, /_mta-sts\.example\.com\.\t3600\tIN\tTXT\t"v=STSv1; id=[0-9a-f]{20}"/);
  // DMARC reports on, sent from the hosted domain (signed, so they pass DMARC).
  assert.match(text, /^\[spam\.dmarc_reports\]\n(?:#.*\n)*enabled = true$/m);
  assert.match(text, /^from = "noreply-dmarc@example\.com"$/m);
  assert.match(text, /^\[queue\.tls_reports\]\n(?:#.*\n)*enabled = true$/m);
  assert.match(text, /^from = "noreply-tlsrpt@example\.com"$/m);
  assert.match(text, /^\[spam\.sender_domain\]\n(?:#.*\n)*enabled = true$/m);
  assert.equal((await petrel(['config', 'check', '--config', join(out, 'petrel.toml')])).code, 0);
  const again = await petrel(['init', '--domain', 'example.com', '--hostname', 'mail.example.com', '--dir', out]);
  assert.equal(again.code, 2, 'init does not overwrite without --force');
});

// The spam file tests run in a directory of their own: no petrel.toml another test left there.
const spamCwd = join(dir, 'spam-cli');
mkdirSync(spamCwd);
const spamCli = (args: string[], env: Record<string, string> = {}) => petrel(args, env, spamCwd);

const note = (n: number) =>
  `From: a${n}@example.org\r\nTo: b@example.net\r\nSubject: hello ${n}\r\nMessage-ID: <note${n}@example.org>\r\n` +
  `Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\nJust a note number ${n}.\r\n`;

test('spam check: a file it cannot read gets an error line, the others their verdicts, and exit 1 at the end', async () => {
  const files = join(dir, 'check-files');
  mkdirSync(files);
  writeFileSync(join(files, 'a.eml'), note(1));
  writeFileSync(join(files, 'b.eml'), note(2));
  const args = ['a.eml', 'missing.eml', 'b.eml', '.'].map((f) => join(files, f));
  const r = await spamCli(['spam', 'check', ...args]);
  assert.equal(r.code, 1, r.err);
  assert.doesNotMatch(r.err, /unexpected error|\n\s+at /);
  const lines = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; verdict?: string; error?: string });
  assert.deepEqual(
    lines.map((l) => [l.file, l.verdict ?? l.error]),
    [
      [args[0], 'ham'],
      [args[1], 'no such file (or a dangling link)'],
      [args[2], 'ham'],
      [args[3], 'not a regular file'],
    ],
  );
});

test('spam train: what is not a readable file, or a message over the size limit, is skipped with a warning', async () => {
  const base = join(dir, 'train-files');
  // A Maildir whose cur/ holds a sub-directory.
  mkdirSync(join(base, 'md', 'cur', 'nested'), { recursive: true });
  mkdirSync(join(base, 'md', 'new'));
  writeFileSync(join(base, 'md', 'cur', '1:2,S'), note(3));
  writeFileSync(join(base, 'md', 'new', '2'), note(4));
  const md = await spamCli(['spam', 'train', '--spam', join(base, 'md')]);
  assert.equal(md.code, 0, md.err);
  assert.match(md.out, /^spam: 2 learned, 0 moved from ham, 0 already known, 1 skipped$/m);
  assert.match(md.err, /warning: .*nested: not a regular file; skipped/);
  assert.doesNotMatch(md.err, /unexpected error|EISDIR/);
  // A folder of .eml files with a dangling symlink among them.
  mkdirSync(join(base, 'folder'));
  writeFileSync(join(base, 'folder', 'x.eml'), note(5));
  symlinkSync('/nonexistent/target.eml', join(base, 'folder', 'gone.eml'));
  const folder = await spamCli(['spam', 'train', '--ham', join(base, 'folder')]);
  assert.equal(folder.code, 0, folder.err);
  assert.match(folder.out, /^ham: 1 learned, 0 moved from spam, 0 already known, 1 skipped$/m);
  assert.match(folder.err, /warning: .*gone\.eml: no such file \(or a dangling link\); skipped/);
  // An mbox, read message by message: the one over the largest size the server accepts is skipped.
  const from = (n: number) => `From a${n}@example.org Mon Jan  5 10:00:00 2026\n`;
  writeFileSync(
    join(base, 'box.mbox'),
    `${from(6)}${note(6)}\n${from(7)}${note(7)}${'padding line\n'.repeat(200)}\n${from(8)}${note(8)}`,
  );
  const limits = { PETREL_SMTP_MAX_MESSAGE_SIZE: '2048', PETREL_IMAP_MAX_MESSAGE_SIZE: '2048' };
  const mbox = await spamCli(['spam', 'train', '--ham', join(base, 'box.mbox')], limits);
  assert.equal(mbox.code, 0, mbox.err);
  assert.match(mbox.out, /^ham: 2 learned, 0 moved from spam, 0 already known, 1 skipped$/m);
  assert.match(mbox.err, /warning: .*box\.mbox: message 2 is larger than 2048 octets; skipped/);
  // A path that is not there at all is refused before anything is learned.
  const missing = await spamCli(['spam', 'train', '--spam', join(base, 'md'), '--ham', join(base, 'nothing')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nothing: ENOENT/);
});

test('spam train: files whose names are not UTF-8 (Latin-1 names of an old export) are learned, not skipped', async () => {
  // Names come from the directory as octets; read back as text they would name no file ("no such file").
  const base = join(dir, 'train-latin1');
  mkdirSync(join(base, 'md', 'cur'), { recursive: true });
  mkdirSync(join(base, 'folder'));
  const under = (path: string, name: string) => Buffer.concat([Buffer.from(`${path}/`), Buffer.from(name, 'latin1')]);
  writeFileSync(under(join(base, 'md', 'cur'), '1.Entw\xfcrfe:2,S'), note(9));
  writeFileSync(under(join(base, 'folder'), 'Entw\xfcrfe.eml'), note(10));
  const md = await spamCli(['spam', 'train', '--spam', join(base, 'md'), '--ham', join(base, 'folder')]);
  assert.equal(md.code, 0, md.err);
  assert.match(md.out, /^spam: 1 learned, 0 moved from ham, 0 already known, 0 skipped$/m);
  assert.match(md.out, /^ham: 1 learned, 0 moved from spam, 0 already known, 0 skipped$/m);
  assert.doesNotMatch(md.err, /skipped/);
});

test('account send-as sets the sender policy submission enforces: own by default, domain, any', async () => {
  // The README names a per-account policy (own, domain or any) that no command could set.
  const cwd = mkdtempSync(join(tmpdir(), 'petrel-cli-send-as-'));
  try {
    assert.equal((await petrel(['account', 'add', 'clerk@localhost', '--password', 'pw-clerk'], {}, cwd)).code, 0);
    const shown = await petrel(['account', 'send-as', 'clerk@localhost'], {}, cwd);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /^clerk@localhost\tsend-as=own$/m);
    const bad = await petrel(['account', 'send-as', 'clerk@localhost', 'everyone'], {}, cwd);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /own, domain or any/);
    const s = await startPetrel(cwd);
    try {
      // Python's smtplib over submission (plain from loopback), MAIL FROM and From: another address of the domain.
      const send = async () => {
        const py = `import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.login('clerk@localhost', 'pw-clerk')
try:
    s.sendmail('boss@localhost', ['clerk@localhost'], b'From: boss@localhost\\r\\nSubject: as boss\\r\\n\\r\\nhi\\r\\n')
    print('accepted')
except smtplib.SMTPException as e:
    print('refused', e)
s.quit()`;
        return (await run('python3', ['-c', py, String(s.ports.submission)], { timeout: 30000 })).stdout;
      };
      assert.match(await send(), /^refused .*5\.7\.1/m);
      const set = await petrel(['account', 'send-as', 'clerk@localhost', 'domain'], {}, cwd);
      assert.equal(set.code, 0, set.err);
      assert.match(set.out, /^clerk@localhost\tsend-as=domain$/m);
      assert.match(await send(), /^accepted$/m);
    } finally {
      await stopPetrel(s.child);
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test("account passwd, disable and remove on SQLite end the running server's IMAP and POP3 sessions of the account", async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'petrel-cli-kick-'));
  const env = { PETREL_LISTENERS_POP3_ENABLED: 'true' };
  try {
    assert.equal((await petrel(['account', 'add', 'kick@localhost', '--password', 'old-pw'], env, cwd)).code, 0);
    const s = await startPetrel(cwd, env);
    try {
      const imap = async (pw: string) => {
        const { c } = await RawImap.open(s.ports.imap);
        assert.match((await c.cmd(`LOGIN kick@localhost ${pw}`)).tagged, /OK/);
        return c;
      };
      const steps: [string[], RegExp, string][] = [
        [['account', 'passwd', 'kick@localhost', '--password', 'new-pw'], /^\* BYE \[EXPIRED\] /, 'old-pw'],
        [['account', 'disable', 'kick@localhost'], /^\* BYE \[CONTACTADMIN\] /, 'new-pw'],
        [['account', 'remove', 'kick@localhost'], /^\* BYE \[CONTACTADMIN\] /, 'new-pw'],
      ];
      for (const [args, bye, pw] of steps) {
        const c = await imap(pw);
        const p = await Pop3Client.open(s.ports.pop3);
        assert.match(await p.cmd('USER kick@localhost'), /^\+OK/);
        assert.match(await p.cmd(`PASS ${pw}`), /^\+OK Logged in/);
        const r = await petrel(args, env, cwd);
        assert.equal(r.code, 0, r.err);
        assert.match(await c.line(10000), bye);
        assert.match(await p.line(), /^-ERR \[AUTH\] /);
        await p.closed();
        c.close();
        if (args[1] === 'disable')
          assert.equal((await petrel(['account', 'enable', 'kick@localhost'], env, cwd)).code, 0);
      }
    } finally {
      await stopPetrel(s.child);
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('account quota shows and changes a quota; the running server refuses the next message over it and accepts it again once raised', async () => {
  // A quota could be given at `account add` and never changed again (Dovecot's admins edit the userdb,
  // Stalwart's CLI has `account update --quota`; ours is shown or set like `account send-as`).
  const cwd = mkdtempSync(join(tmpdir(), 'petrel-cli-quota-'));
  try {
    assert.equal((await petrel(['account', 'add', 'quota@localhost', '--password', 'pw'], {}, cwd)).code, 0);
    const shown = await petrel(['account', 'quota', 'QUOTA@localhost'], {}, cwd);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /^quota@localhost\tquota=unlimited\tused=0\tmessages=0$/m);
    // Sizes as `account add --quota` takes them; anything else is a usage error, an unknown address an error.
    const bad = await petrel(['account', 'quota', 'quota@localhost', '10 parsecs'], {}, cwd);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /not a size: 10 parsecs/);
    const nobody = await petrel(['account', 'quota', 'nobody@localhost', '1M'], {}, cwd);
    assert.equal(nobody.code, 1, nobody.err);
    assert.match(nobody.err, /no such account: nobody@localhost/);
    const s = await startPetrel(cwd);
    try {
      // Python's smtplib to the MX listener: a 4 KiB message.
      const send = async () => {
        const py = `import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
body = b'From: a@remote.test\\r\\nSubject: quota\\r\\n\\r\\n' + (b'x' * 76 + b'\\r\\n') * 52
try:
    s.sendmail('a@remote.test', ['quota@localhost'], body)
    print('accepted')
except smtplib.SMTPException as e:
    print('refused', e)
s.quit()`;
        return (await run('python3', ['-c', py, String(s.ports.smtp)], { timeout: 30000 })).stdout;
      };
      const set = await petrel(['account', 'quota', 'quota@localhost', '1K'], {}, cwd);
      assert.equal(set.code, 0, set.err);
      assert.match(set.out, /^quota@localhost\tquota=1024\tused=0\tmessages=0$/m);
      // Over quota: smtplib declares SIZE (RFC 1870), so the recipient is refused at RCPT with what a full
      // mailbox gets there, 452 4.2.2 (smtp/commands/rcpt.ts; RFC 3463 section 3.3: mailbox full).
      assert.match(await send(), /^refused .*452, b'4\.2\.2 <quota@localhost>: Mailbox full/m);
      const raised = await petrel(['account', 'quota', 'quota@localhost', '2M'], {}, cwd);
      assert.equal(raised.code, 0, raised.err);
      assert.match(raised.out, /^quota@localhost\tquota=2097152\t/m);
      assert.match(await send(), /^accepted$/m);
      const after = await petrel(['account', 'quota', 'quota@localhost'], {}, cwd);
      assert.match(after.out, /^quota@localhost\tquota=2097152\tused=[1-9]\d*\tmessages=1$/m);
      const none = await petrel(['account', 'quota', 'quota@localhost', 'none'], {}, cwd);
      assert.equal(none.code, 0, none.err);
      assert.match(none.out, /^quota@localhost\tquota=unlimited\t/m);
    } finally {
      await stopPetrel(s.child);
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('only serve (and a first account or alias add) bootstraps a fresh data directory, not a read-only command', async () => {
  // `petrel domain check` is step 2 of "Going to production", before the first start: it made the
  // administrator and printed its one-time password, and `serve` later had nothing to show.
  const cwd = mkdtempSync(join(tmpdir(), 'petrel-cli-fresh-'));
  try {
    for (const args of [
      ['domain', 'check', 'localhost'],
      ['domain', 'list'],
      ['account', 'list'],
    ]) {
      const r = await petrel(args, {}, cwd);
      assert.doesNotMatch(r.err, /administrator|Password/, `${args.join(' ')}: ${r.err}`);
      assert.doesNotMatch(r.out, /localhost/, `${args.join(' ')} made nothing`);
    }
    const s = await startPetrel(cwd);
    try {
      assert.match(s.stderr(), /created domain localhost and administrator admin@localhost/);
      // Not a terminal here: the password is in a file, and stderr says where.
      assert.match(s.stderr(), /Password: in \S+admin-password /);
    } finally {
      await stopPetrel(s.child);
    }
    const list = await petrel(['account', 'list'], {}, cwd);
    assert.match(list.out, /^admin@localhost\tadmin\t/m);
    assert.doesNotMatch(list.err, /Password/);
    // An alias is added in a hosted domain: on a fresh directory that is the first one, made as by serve.
    rmSync(join(cwd, 'data'), { recursive: true, force: true });
    const alias = await petrel(['alias', 'add', 'info@localhost', 'admin@localhost'], {}, cwd);
    assert.equal(alias.code, 0, alias.err);
    assert.match(alias.err, /created domain localhost and administrator admin@localhost/);
    // `domain add` of the configured first domain (init writes bootstrap.domain) on a fresh store adds
    // it: it bootstrapped first, made that domain, and then failed with "already exists".
    rmSync(join(cwd, 'data'), { recursive: true, force: true });
    const own = await petrel(['domain', 'add', 'example.com'], { PETREL_BOOTSTRAP_DOMAIN: 'example.com' }, cwd);
    assert.equal(own.code, 0, own.err);
    assert.match(own.out, /^domain example\.com added/m);
    assert.doesNotMatch(own.err, /administrator/);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
