// DKIM keys, records and signatures, checked with mailauth's verifier (not ours) against the published records.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { DkimKeyring } from './keys.ts';
import { dkimRecordSource, txtStrings } from './records.ts';
import { authorDomain, signMessage } from './sign.ts';

const dir = mkdtempSync(join(tmpdir(), 'petrel-dkim-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MSG = Buffer.from(
  'From: Alice <alice@Example.TEST>\r\nTo: bob@remote.test\r\nSubject: hello\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n' +
    'Message-ID: <1@example.test>\r\n\r\nHello Bob.\r\n.leading dot\r\n',
);

test('keys are generated per domain and selector, 0600 in 0700 directories, never twice by accident', () => {
  const ring = new DkimKeyring(join(dir, 'k1'));
  const rsa = ring.generate('Example.TEST', { algorithm: 'rsa', selector: 'petrel' });
  assert.equal(rsa.domain, 'example.test');
  assert.match(rsa.record, /^v=DKIM1; k=rsa; p=MIIB[A-Za-z0-9+/=]+$/);
  assert.equal(statSync(join(dir, 'k1', 'example.test', 'petrel.pem')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'k1', 'example.test')).mode & 0o777, 0o700);
  assert.throws(
    () => ring.generate('example.test', { algorithm: 'rsa', selector: 'petrel' }),
    /already has a DKIM key/,
  );
  const ed = ring.generate('example.test', { algorithm: 'ed25519', selector: 'ed' });
  // RFC 8463 section 4.2: the raw 32-octet public key, base64 (44 characters).
  assert.match(ed.record, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(
    ring
      .list('example.test')
      .map((k) => k.selector)
      .sort(),
    ['ed', 'petrel'],
  );
  assert.throws(() => ring.generate('example.test', { algorithm: 'rsa', selector: 'bad_selector' }), /not a valid/);
  ring.remove('example.test', 'ed');
  assert.deepEqual(
    ring.list('example.test').map((k) => k.selector),
    ['petrel'],
  );
});

test('records are split into 255-octet strings and name <selector>._domainkey', async () => {
  const ring = new DkimKeyring(join(dir, 'k2'));
  ring.generate('example.test', { algorithm: 'rsa', selector: 's1' });
  const [r] = await dkimRecordSource(ring)('example.test');
  assert.equal(r.name, 's1._domainkey.example.test.');
  assert.equal(r.type, 'TXT');
  assert.ok(r.value.split('" "').length >= 2, 'a 2048-bit key needs more than one string');
  assert.equal(txtStrings('abc'), '"abc"');
  assert.deepEqual(await dkimRecordSource(ring)('other.test'), []);
});

test('rsa-sha256 and ed25519-sha256 signatures verify with mailauth against the published keys', async () => {
  const ring = new DkimKeyring(join(dir, 'k3'));
  ring.generate('example.test', { algorithm: 'rsa', selector: 'rsa1' });
  ring.generate('example.test', { algorithm: 'ed25519', selector: 'ed1' });
  assert.equal(authorDomain(MSG), 'example.test');
  const signed = await signMessage(MSG, ring.signingKeys('example.test'));
  assert.ok(signed.subarray(signed.length - MSG.length).equals(MSG), 'the message itself is untouched');
  const records = new Map(ring.list('example.test').map((k) => [`${k.selector}._domainkey.example.test`, k.record]));
  const resolver = async (name: string, type: string) => {
    const rec = records.get(name);
    if (type !== 'TXT' || !rec) throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
    return [[rec]];
  };
  const res = await dkimVerify(signed, { resolver });
  const byAlgo = Object.fromEntries(res.results.map((r) => [r.algo, r.status.result]));
  assert.deepEqual(byAlgo, { 'rsa-sha256': 'pass', 'ed25519-sha256': 'pass' });
  // One changed body byte breaks both.
  const tampered = Buffer.from(signed.toString().replace('Hello Bob', 'Hello Eve'));
  const bad = await dkimVerify(tampered, { resolver });
  assert.equal(bad.results.length, 2);
  assert.ok(bad.results.every((r) => r.status.result !== 'pass'));
});

test('h= lists each signed field once more than it occurs; a field added on top breaks the signature', async () => {
  const ring = new DkimKeyring(join(dir, 'k4'));
  const k = ring.generate('example.test', { algorithm: 'rsa', selector: 'rsa1' });
  const resolver = async (name: string, type: string) => {
    if (type !== 'TXT' || name !== 'rsa1._domainkey.example.test')
      throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
    return [[k.record]];
  };
  const result = async (m: Buffer) => (await dkimVerify(m, { resolver })).results.map((r) => r.status.result);
  const signed = await signMessage(MSG, [k]);
  const h = /\bh=([^;]+);/.exec(signed.toString())![1].replace(/\s+/g, '');
  // RFC 6376 section 5.4.2: the last name of each pair finds no instance and signs as nothing.
  assert.equal(h, 'From:From:Reply-To:Subject:Subject:Date:Date:Message-ID:Message-ID:To:To:Cc');
  assert.deepEqual(await result(signed), ['pass']);
  const at = signed.indexOf('From: Alice');
  for (const added of [
    'From: Eve <eve@example.test>\r\n',
    'Cc: eve@evil.test\r\n',
    'Date: Tue, 2 Jan 2024 00:00:00 +0000\r\n',
  ])
    assert.deepEqual(
      await result(Buffer.concat([signed.subarray(0, at), Buffer.from(added), signed.subarray(at)])),
      ['fail'],
      added,
    );
  // Relaxed body canonicalization (RFC 6376 section 3.4.4) at the edges: blanks at line ends, at the very
  // end, empty lines at the end, no body at all.
  const head = 'From: alice@example.test\r\nSubject: edges\r\n\r\n';
  for (const body of [
    '',
    '\r\n',
    '\r\n\r\n',
    'a\r\n ',
    'a \t',
    ' a  b\t\r\n\t\r\n',
    'a\r\n\r\nb\r\n',
    'x'.repeat(5000),
  ])
    assert.deepEqual(await result(await signMessage(Buffer.from(head + body), [k])), ['pass'], JSON.stringify(body));
});

test('no keys, no signature; no From, no author domain and no signature', async () => {
  assert.equal(await signMessage(MSG, []), MSG);
  assert.equal(authorDomain(Buffer.from('Subject: x\r\n\r\nbody\r\n')), null);
  const k = new DkimKeyring(join(dir, 'k5')).generate('example.test', { algorithm: 'ed25519', selector: 'ed' });
  await assert.rejects(signMessage(Buffer.from('Subject: x\r\n\r\nbody\r\n'), [k]), /no From field/);
  // An empty line first: no header section at all, whatever the body looks like.
  await assert.rejects(signMessage(Buffer.from('\r\nFrom: a@example.test\r\n\r\nbody\r\n'), [k]), /no From field/);
});
