// A listing's TXT reason as a reply and the log may show it: one line of printable ASCII, capped, no access key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listingReason } from './dnsbl-reason.ts';

const KEY = 'k3y0f26characterslowercase';

test('character-strings joined, records separated, control characters and non-ASCII gone', () => {
  assert.equal(
    listingReason([['https://www.spamhaus.org/', 'query/ip/192.0.2.1']], 'zen.test'),
    'https://www.spamhaus.org/query/ip/192.0.2.1',
  );
  assert.equal(listingReason([['SBL'], ['XBL'], ['SBL']], 'zen.test'), 'SBL; XBL');
  assert.equal(listingReason([['a\r\n250 ok\r\n', '\x00b\x1b[1m\x7fc\td']], 'zen.test'), 'a 250 ok b [1m c d');
  assert.equal(listingReason([['caf\u00e9 \u2028\u0085 \ud83d\ude00x']], 'zen.test'), 'caf x');
  assert.equal(listingReason([[' \r\n\u00e9 ']], 'zen.test'), '');
  assert.equal(listingReason([], 'zen.test'), '');
  assert.equal(listingReason([['x'.repeat(300)]], 'zen.test').length, 200);
  assert.equal(listingReason([['abcdef']], 'zen.test', 3), 'abc');
});

test("a zone's access key is removed wherever it appears, in any case", () => {
  const zone = `${KEY}.zen.dq.test`;
  assert.equal(
    listingReason([[`Listed: 2.0.0.127.${KEY.toUpperCase()}.zen.dq.test see https://x.test/?key=${KEY}&a=1`]], zone),
    'Listed: 2.0.0.127.zen.dq.test see https://x.test/?key=&a=1',
  );
  // Split by characters that are dropped, the key is put together, then removed.
  assert.equal(listingReason([[`key ${KEY.slice(0, 9)}\u00e9${KEY.slice(9)} end`]], zone), 'key end');
  // A cut that would join a key out of its neighbours leaves no reason at all.
  assert.equal(listingReason([[`${KEY.slice(0, 5)}${KEY}${KEY.slice(5)}`]], zone), '');
  // A zone without a key keeps its text.
  assert.equal(listingReason([['zen.test lists it']], 'zen.test'), 'zen.test lists it');
});
