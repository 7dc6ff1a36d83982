// Addresses a message gives for replies, as the e-mail blocklists look them up: found in text and mailto:
// links, normalised, bounded; the zones' syntax and the query labels (hashes checked against sha1sum and
// md5sum of the same octets).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressLabel, parseEblZone } from '../checks/ebl.ts';
import { bodyAddresses, normalizeAddress } from './emails.ts';

test('addresses in text and mailto: links, lower-cased, +tags dropped, in order, without repeats', () => {
  const text =
    'Dear friend, reply to Claims.Office+urgent@Mailbox.test (or claims.office@mailbox.test), not to\n' +
    '"someone"@quoted.test; write <agent@lawyers.example.org>. Not addresses: a@b, x@localhost, user@123.\n' +
    'Dots: .edge.dots.@trail.test. and bad..local@x.test';
  assert.deepEqual(bodyAddresses([text], ['<a href="mailto:Pay%2Bme@Bank-Help.test?subject=Hi">pay</a>'], 10), [
    'pay@bank-help.test',
    'claims.office@mailbox.test',
    'agent@lawyers.example.org',
    'edge.dots@trail.test',
  ]);
  assert.deepEqual(bodyAddresses(['a1@x.test a2@x.test a3@x.test'], [], 2), ['a1@x.test', 'a2@x.test']);
  assert.deepEqual(bodyAddresses([], ['<a href="mailto:one@x.test,Two@y.test">'], 10), ['one@x.test', 'two@y.test']);
  // The href as a client reads it: character references decoded, tab and newline removed.
  assert.deepEqual(
    bodyAddresses([], ['<a href="mailto:box&#64;x.test">a</a><A HREF=\'MAILTO:&#100;rop&commat;y.test\'>b</A>'], 10),
    ['box@x.test', 'drop@y.test'],
  );
  assert.deepEqual(bodyAddresses([], ['<a href="mai&#9;lto:tab@z.test">c</a>'], 10), ['tab@z.test']);
  assert.equal(normalizeAddress('Bob+Tag+More@Example.TEST'), 'bob@example.test');
  assert.equal(normalizeAddress('+only@example.test'), '+only@example.test', 'nothing left of the local part: kept');
});

test('hostile text is read in linear time and bounded', { timeout: 10000 }, () => {
  for (const run of [
    'a'.repeat(1 << 20),
    'a@'.repeat(1 << 19),
    `${'a.'.repeat(1 << 19)}@`,
    `x@${'a-'.repeat(1 << 19)}`,
  ])
    assert.ok(bodyAddresses([run], [run], 20).length <= 20);
  assert.deepEqual(bodyAddresses([`${'x'.repeat(300_000)} late@after.test`], [], 5), [], 'past the 256 KB read');
});

test('zones: symbol, score, hash and answer codes; labels are the hex hash of the normalised address', () => {
  assert.deepEqual(parseEblZone('ebl.msbl.org MSBL_EBL:5'), {
    zone: 'ebl.msbl.org',
    symbol: 'MSBL_EBL',
    score: 5,
    codes: [],
    hash: 'sha1',
  });
  const z = parseEblZone('hbl.test hash=md5 HBL 127.0.0.3:HBL_FREEMAIL:2')!;
  assert.equal(z.hash, 'md5');
  assert.equal(z.symbol, 'HBL');
  assert.deepEqual(z.codes, [{ address: '127.0.0.3', symbol: 'HBL_FREEMAIL', score: 2 }]);
  assert.equal(parseEblZone('ebl.example.test')!.symbol, 'EBL_EBL_EXAMPLE_TEST');
  assert.throws(() => parseEblZone('x.test hash=crc32'), /spam\.ebl\.zones: unknown hash/);
  // printf 'dropbox@freemail.test' | sha1sum ; | md5sum
  assert.equal(addressLabel('DropBox+claims@FreeMail.test', 'sha1'), '8ab4abbf61d125b09a028fefc0fcf5d1e2ea2d37');
  assert.equal(addressLabel('dropbox@freemail.test', 'md5'), '122caf3f7d86c7db1b7654d7c56a2b69');
});
