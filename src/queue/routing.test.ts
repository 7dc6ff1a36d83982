// MX ordering and routing decisions (RFC 5321 section 5.1, RFC 7505) over a resolver double.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MxRecord, Resolver } from '../core/ports.ts';
import { DnsError } from '../dns/resolver.ts';
import { hostAddresses, orderMx, routeDomain } from './routing.ts';

function resolver(mx: Record<string, MxRecord[] | DnsError>, a: Record<string, string[]> = {}): Resolver {
  const answer = async <T>(v: T[] | DnsError | undefined, name: string): Promise<T[]> => {
    if (v instanceof DnsError) throw v;
    if (v === undefined) throw new DnsError('NXDOMAIN', name, 'ENOTFOUND');
    return v;
  };
  return {
    mx: (d) => answer(mx[d], d),
    a: (n) => answer(a[n], n),
    aaaa: async () => [],
    txt: async () => [],
    ptr: async () => [],
  };
}

const mx = (exchange: string, priority: number): MxRecord => ({ exchange, priority });

test('MX records are ordered by preference, equal ones in random order', () => {
  const recs = [mx('c', 20), mx('a', 10), mx('b', 10), mx('d', 5)];
  const seq = (vals: number[]) => {
    let i = 0;
    return () => vals[i++ % vals.length];
  };
  assert.deepEqual(
    orderMx(recs, seq([0.1, 0.9, 0.2, 0.5])).map((r) => r.exchange),
    ['d', 'b', 'a', 'c'],
  );
  assert.deepEqual(
    orderMx(recs, seq([0.1, 0.2, 0.9, 0.5])).map((r) => r.exchange),
    ['d', 'a', 'b', 'c'],
  );
});

test('routing: MX hosts, implicit MX, null MX, NXDOMAIN, temporary failure, address literal', async () => {
  const r = resolver({
    'multi.test': [mx('mx2.multi.test', 20), mx('mx1.multi.test', 10)],
    'none.test': [],
    'null.test': [mx('', 0)],
    'fail.test': new DnsError('TEMPFAIL', 'MX fail.test', 'ETIMEOUT'),
  });
  const opts = { selfNames: ['me.test'] };
  assert.deepEqual(await routeDomain(r, 'multi.test', opts), {
    hosts: [
      { name: 'mx1.multi.test', preference: 10, implicit: false },
      { name: 'mx2.multi.test', preference: 20, implicit: false },
    ],
  });
  assert.deepEqual(await routeDomain(r, 'none.test', opts), {
    hosts: [{ name: 'none.test', preference: 0, implicit: true }],
  });
  assert.deepEqual(await routeDomain(r, 'null.test', opts), {
    failure: { permanent: true, status: '5.1.10', text: 'domain null.test accepts no mail (null MX)' },
  });
  const nx = await routeDomain(r, 'missing.test', opts);
  assert.ok('failure' in nx && nx.failure.permanent && nx.failure.status === '5.1.2');
  const temp = await routeDomain(r, 'fail.test', opts);
  assert.ok('failure' in temp && !temp.failure.permanent && temp.failure.status === '4.4.3');
  const lit = await routeDomain(r, '[127.0.0.5]', opts);
  assert.ok('hosts' in lit);
  assert.deepEqual(await hostAddresses(r, lit.hosts[0]), ['127.0.0.5']);
});

test('routing: an MX naming this server drops it and every less preferred host; only us is a loop', async () => {
  const r = resolver({
    'backup.test': [mx('primary.test', 10), mx('me.test', 20), mx('tertiary.test', 30)],
    'loop.test': [mx('ME.test', 10), mx('other.test', 20)],
  });
  const opts = { selfNames: ['me.test'] };
  const b = await routeDomain(r, 'backup.test', opts);
  assert.ok('hosts' in b);
  assert.deepEqual(
    b.hosts.map((h) => h.name),
    ['primary.test'],
  );
  const l = await routeDomain(r, 'loop.test', opts);
  assert.ok('failure' in l && l.failure.status === '5.4.6');
});

test('host addresses: a host that does not exist has none; a DNS failure throws', async () => {
  const r = resolver({}, { 'h.test': ['127.0.0.7'] });
  assert.deepEqual(await hostAddresses(r, { name: 'h.test', preference: 0, implicit: false }), ['127.0.0.7']);
  assert.deepEqual(await hostAddresses(r, { name: 'nohost.test', preference: 0, implicit: false }), []);
  const broken: Resolver = { ...r, a: async () => Promise.reject(new DnsError('TEMPFAIL', 'A x', 'ESERVFAIL')) };
  await assert.rejects(hostAddresses(broken, { name: 'x', preference: 0, implicit: false }), DnsError);
});
