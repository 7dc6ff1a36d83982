// X-Forwarded-For entries: addresses with and without ports and brackets, and what names no address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardedAddress, forwardedClient } from './forwarded.ts';

test('an entry is an address, alone or with a port; IPv6 with a port in brackets', () => {
  const table: [string, string | null][] = [
    ['192.0.2.7', '192.0.2.7'],
    [' 192.0.2.7 ', '192.0.2.7'],
    ['192.0.2.7:51234', '192.0.2.7'],
    ['192.0.2.7:65535', '192.0.2.7'],
    ['2001:db8::1', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    // Without brackets the last group belongs to the address (RFC 7239 section 6 requires them with a port).
    ['2001:db8::1:443', '2001:db8::1:443'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['[::ffff:192.0.2.7]:80', '192.0.2.7'],
    // Names no address: RFC 7239's "unknown" and obfuscated identifiers, bad ports, brackets round IPv4.
    ['unknown', null],
    ['_hidden', null],
    ['', null],
    ['192.0.2.7:', null],
    ['192.0.2.7:65536', null],
    ['192.0.2.7:123456', null],
    ['192.0.2.7:8o', null],
    ['192.0.2.256:80', null],
    ['[192.0.2.7]:80', null],
    ['[2001:db8::1', null],
    ['2001:db8::1]:80', null],
    ['[2001:db8::1]:', null],
    ['[2001:db8::g]:80', null],
    ['"[2001:db8::1]:443"', null],
    ['mail.example.com:25', null],
  ];
  for (const [entry, want] of table) assert.equal(forwardedAddress(entry), want, JSON.stringify(entry));
});

test('the last entry counts; one that names no address leaves the socket (the proxy)', () => {
  assert.equal(forwardedClient('198.51.100.1, 192.0.2.7:1234', '127.0.0.1'), '192.0.2.7');
  assert.equal(forwardedClient(['198.51.100.1', '[2001:db8::5]:80'], '127.0.0.1'), '2001:db8::5');
  assert.equal(forwardedClient('192.0.2.7, unknown', '127.0.0.1'), '127.0.0.1');
  assert.equal(forwardedClient('192.0.2.7,', '127.0.0.1'), '127.0.0.1');
  assert.equal(forwardedClient(undefined, '127.0.0.1'), '127.0.0.1');
});
