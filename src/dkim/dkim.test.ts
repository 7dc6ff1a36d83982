// DKIM keys (in a real SQLite store), records and signatures, checked with mailauth's verifier (not ours)
// against the published records.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import type { Store } from '../core/ports.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import { DkimKeyring, writeKeyFile } from './keys.ts';
import { dkimRecordSource, txtStrings } from './records.ts';
import { authorDomain, signMessage } from './sign.ts';

const dir = mkdtempSync(join(tmpdir(), 'petrel-dkim-'));
const stores: Store[] = [];
after(async () => {
  for (const s of stores) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A keyring over a store of its own (a SQLite file under `dir`), importing from `dir/<name>/dkim`. */
async function ring(name: string, opts: { ttlMs?: number } = {}): Promise<{ ring: DkimKeyring; store: Store }> {
  mkdirSync(join(dir, name), { recursive: true });
  const store = await openSqliteStore({ path: join(dir, name, 'petrel.db') });
  stores.push(store);
  return { ring: new DkimKeyring(store.keys, join(dir, name, 'dkim'), opts), store };
}

const MSG = Buffer.from(
  'From: Alice <alice@Example.TEST>\r\nTo: bob@remote.test\r\nSubject: hello\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n' +
    'Message-ID: <1@example.test>\r\n\r\nHello Bob.\r\n.leading dot\r\n',
);

test('keys are generated per domain and selector into the store, never twice by accident', async () => {
  const { ring: keys, store } = await ring('k1');
  const rsa = await keys.generate('Example.TEST', { algorithm: 'rsa', selector: 'petrel' });
  assert.equal(rsa.domain, 'example.test');
  assert.match(rsa.record, /^v=DKIM1; k=rsa; p=MIIB[A-Za-z0-9+/=]+$/);
  assert.equal((await store.keys.dkimKeys('example.test'))[0].privateKey, rsa.privateKey);
  await assert.rejects(
    keys.generate('example.test', { algorithm: 'rsa', selector: 'petrel' }),
    /already has a DKIM key/,
  );
  assert.equal(await keys.ensure('example.test', { algorithm: 'rsa', selector: 'other' }), false, 'it has one');
  const ed = await keys.generate('example.test', { algorithm: 'ed25519', selector: 'ed' });
  // RFC 8463 section 4.2: the raw 32-octet public key, base64 (44 characters).
  assert.match(ed.record, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual((await keys.list('example.test')).map((k) => k.selector).sort(), ['ed', 'petrel']);
  await assert.rejects(keys.generate('example.test', { algorithm: 'rsa', selector: 'bad_selector' }), /not a valid/);
  const again = await keys.generate('example.test', { algorithm: 'ed25519', selector: 'ed', replace: true });
  assert.notEqual(again.privateKey, ed.privateKey, '--force replaces the key');
  await keys.remove('example.test', 'ed');
  assert.deepEqual(
    (await keys.list('example.test')).map((k) => k.selector),
    ['petrel'],
  );
  await assert.rejects(keys.remove('example.test', 'ed'), /has no DKIM key/);
  assert.equal(existsSync(join(dir, 'k1', 'dkim')), false, 'no key file is written');
});

test('a second keyring on the same store (another node) signs with the keys the first made, within its cache time', async () => {
  const { ring: a } = await ring('k6');
  const b = new DkimKeyring(stores.at(-1)!.keys, join(dir, 'k6', 'other'), { ttlMs: 60_000 });
  assert.deepEqual(await b.signingKeys('example.test', 1000), []);
  const k = await a.generate('example.test', { algorithm: 'ed25519', selector: 'ed' });
  assert.deepEqual(await b.signingKeys('example.test', 2000), [], 'cached for ttlMs');
  assert.deepEqual(
    (await b.signingKeys('example.test', 61_001)).map((x) => x.privateKey),
    [k.privateKey],
  );
});

test('key files (petrel init, earlier versions) are imported once; a removed key does not come back', async () => {
  const { ring: keys } = await ring('k7');
  const files = join(dir, 'k7', 'dkim');
  const made = writeKeyFile(files, 'Example.TEST', { algorithm: 'rsa', selector: 'petrel' });
  assert.equal(
    writeKeyFile(files, 'example.test', { algorithm: 'rsa', selector: 'petrel' }).privateKey,
    made.privateKey,
  );
  writeKeyFile(files, 'example.org', { algorithm: 'ed25519', selector: 'ed' });
  mkdirSync(join(files, 'not a domain!'));
  const first = await keys.importFiles();
  assert.deepEqual(first.imported.sort(), ['example.org/ed', 'example.test/petrel']);
  assert.equal((await keys.list('example.test'))[0].privateKey, made.privateKey);
  assert.equal(existsSync(join(files, 'example.test', 'petrel.pem')), false);
  assert.equal(readFileSync(join(files, 'example.test', 'petrel.pem.imported'), 'utf8'), made.privateKey);
  await keys.remove('example.test', 'petrel');
  assert.deepEqual(await keys.importFiles(), { imported: [], conflicting: [] });
  assert.deepEqual(await keys.list('example.test'), []);
  // A file that differs from the stored key of its selector is not used, and said, once: set aside, it
  // does not take the selector when the stored key is removed.
  writeKeyFile(files, 'example.org', { algorithm: 'ed25519', selector: 'ed' });
  const clash = await keys.importFiles();
  assert.deepEqual(clash, { imported: [], conflicting: [join(files, 'example.org', 'ed.pem.unused')] });
  assert.equal((await keys.list('example.org')).length, 1);
  await keys.remove('example.org', 'ed');
  assert.deepEqual(await keys.importFiles(), { imported: [], conflicting: [] });
  assert.deepEqual(await keys.list('example.org'), []);
});

test('a read-only key file (a mounted Secret) is offered at every start and stored while its selector is free', async () => {
  const { ring: keys } = await ring('k8');
  const files = join(dir, 'k8', 'dkim');
  const k = writeKeyFile(files, 'example.test', { algorithm: 'ed25519', selector: 'ro' });
  // The rename cannot happen: a directory stands where the file would go (a permission would not stop root).
  mkdirSync(join(files, 'example.test', 'ro.pem.imported'));
  assert.deepEqual((await keys.importFiles()).imported, ['example.test/ro']);
  assert.deepEqual((await keys.importFiles()).imported, [], 'already held: nothing new');
  await keys.remove('example.test', 'ro');
  assert.deepEqual((await keys.importFiles()).imported, ['example.test/ro'], 'the mount brings it back');
  assert.equal((await keys.list('example.test'))[0].privateKey, k.privateKey);
});

test('records are split into 255-octet strings and name <selector>._domainkey', async () => {
  const { ring: keys } = await ring('k2');
  await keys.generate('example.test', { algorithm: 'rsa', selector: 's1' });
  const source = dkimRecordSource((d) => keys.list(d));
  const [r] = await source('example.test');
  assert.equal(r.name, 's1._domainkey.example.test.');
  assert.equal(r.type, 'TXT');
  assert.ok(r.value.split('" "').length >= 2, 'a 2048-bit key needs more than one string');
  assert.equal(txtStrings('abc'), '"abc"');
  assert.deepEqual(await source('other.test'), []);
});

test('rsa-sha256 and ed25519-sha256 signatures verify with mailauth against the published keys', async () => {
  const { ring: keys } = await ring('k3');
  await keys.generate('example.test', { algorithm: 'rsa', selector: 'rsa1' });
  await keys.generate('example.test', { algorithm: 'ed25519', selector: 'ed1' });
  assert.equal(authorDomain(MSG), 'example.test');
  const signed = await signMessage(MSG, await keys.signingKeys('example.test'));
  assert.ok(signed.subarray(signed.length - MSG.length).equals(MSG), 'the message itself is untouched');
  const records = new Map(
    (await keys.list('example.test')).map((k) => [`${k.selector}._domainkey.example.test`, k.record]),
  );
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
  const k = await (await ring('k4')).ring.generate('example.test', { algorithm: 'rsa', selector: 'rsa1' });
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
  const k = await (await ring('k5')).ring.generate('example.test', { algorithm: 'ed25519', selector: 'ed' });
  await assert.rejects(signMessage(Buffer.from('Subject: x\r\n\r\nbody\r\n'), [k]), /no From field/);
  // An empty line first: no header section at all, whatever the body looks like.
  await assert.rejects(signMessage(Buffer.from('\r\nFrom: a@example.test\r\n\r\nbody\r\n'), [k]), /no From field/);
});
