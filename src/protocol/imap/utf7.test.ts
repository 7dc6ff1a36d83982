// Modified UTF-7 (RFC 3501 section 5.1.3) round trips and the RFC's own example.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMutf7, encodeMutf7 } from './utf7.ts';

test('RFC 3501 example and round trips', () => {
  assert.equal(encodeMutf7('~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e'), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  assert.equal(decodeMutf7('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), '~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e');
  for (const s of ['INBOX', 'A&B', 'Envoy\u00e9s', '\u{1F600} smile', 'caf\u00e9/cr\u00e8me'])
    assert.equal(decodeMutf7(encodeMutf7(s)), s);
  assert.equal(encodeMutf7('A&B'), 'A&-B');
});

test('refuses what is not modified UTF-7', () => {
  for (const bad of ['&U,BTFw', '&Jjo!', 'caf\u00e9', '&AGE-' /* encodes printable "a" */, '&2D0-', '&Jjo-&Jjo-'])
    assert.equal(decodeMutf7(bad), null, bad);
});
