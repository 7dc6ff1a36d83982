// HELO sanity symbols and the greylisting client network, as tables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '../../mime/parse.ts';
import type { SpamContext } from '../types.ts';
import { clientNet } from './greylist.ts';
import { heloCheck } from './helo.ts';

function ctx(helo: string, clientIp = '192.0.2.7'): SpamContext {
  const raw = Buffer.from('Subject: x\r\n\r\nbody\r\n');
  return {
    raw,
    parsed: parseMessage(raw),
    helo,
    clientIp,
    accountIds: [],
    hostname: 'mx.example.org',
    facts: new Map(),
  };
}

test('HELO names: bare IP, not a FQDN, bad syntax, claims to be us, literal of another address', async () => {
  const check = heloCheck({ isLocalDomain: async (d) => d === 'example.org' });
  const names = async (helo: string, ip?: string) =>
    (await check.run(ctx(helo, ip), new AbortController().signal)).map((s) => s.name);
  assert.deepEqual(await names('mail.sender.test'), []);
  assert.deepEqual(await names('[192.0.2.7]'), []);
  assert.deepEqual(await names('[IPv6:2001:db8::1]', '2001:db8::1'), []);
  assert.deepEqual(await names('[192.0.2.8]'), ['HELO_IP_MISMATCH']);
  // RFC 5321 section 4.1.3: IPv6-full and IPv6-comp name the same address, in either letter case.
  assert.deepEqual(await names('[IPv6:0:0:0:0:0:0:0:1]', '::1'), []);
  assert.deepEqual(await names('[IPv6:2001:DB8:0:0:0:0:0:1]', '2001:db8::1'), []);
  assert.deepEqual(await names('[IPv6:2001:db8::1]', '2001:0db8:0000::1'), []);
  assert.deepEqual(await names('[IPv6:::ffff:192.0.2.7]'), []);
  assert.deepEqual(await names('[IPv6:0:0:0:0:0:0:0:2]', '::1'), ['HELO_IP_MISMATCH']);
  assert.deepEqual(await names('192.0.2.7'), ['HELO_BARE_IP']);
  assert.deepEqual(await names('localhost'), ['HELO_NOT_FQDN']);
  assert.deepEqual(await names('bad_name!.test'), ['HELO_BAD_SYNTAX']);
  assert.deepEqual(await names('mx.example.org'), ['HELO_CLAIMS_LOCAL']);
  assert.deepEqual(await names('EXAMPLE.ORG'), ['HELO_CLAIMS_LOCAL']);
});

test('greylisting networks: IPv4 /24, IPv6 /64', () => {
  assert.equal(clientNet('192.0.2.77'), '192.0.2.0/24');
  assert.equal(clientNet('::ffff:192.0.2.77'), '192.0.2.0/24');
  assert.equal(clientNet('2001:db8:0:12:abcd::1'), '2001:db8:0:12::/64');
  assert.equal(clientNet('2001:db8::1'), '2001:db8:0:0::/64');
});
