// The HTTP listener's routing: exact paths, then prefix mounts ("/account" owns "/account/..." but not
// "/accounts"; "/oauth/" owns what is below it), then 404.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger } from '../telemetry/log.ts';
import { type HttpListener, startHttp } from './server.ts';

let h: HttpListener;
before(async () => {
  const answer = (name: string) => (_req: unknown, res: import('node:http').ServerResponse) => void res.end(name);
  h = await startHttp(
    { host: '127.0.0.1', port: 0 },
    {
      ready: async () => true,
      log: silentLogger,
      routes: new Map([['/exact', answer('exact')]]),
      prefixes: [
        ['/oauth/', answer('oauth')],
        ['/account', answer('account')],
      ],
    },
  );
});
after(() => h.close(0));

test('exact routes, then prefixes on a path-segment boundary, then 404', async () => {
  const get = async (p: string) => {
    const r = await fetch(`http://127.0.0.1:${h.port}${p}`);
    return `${r.status} ${await r.text()}`;
  };
  assert.equal(await get('/exact'), '200 exact');
  assert.equal(await get('/oauth/token?x=1'), '200 oauth');
  assert.equal(await get('/account'), '200 account');
  assert.equal(await get('/account/2fa'), '200 account');
  assert.match(await get('/accounts'), /^404/);
  assert.match(await get('/oauth'), /^404/);
  assert.equal(await get('/healthz'), '200 {"status":"ok"}');
});

test('limits: requests per minute per IP get 429 beyond the limit; connections per IP are capped', async () => {
  const l = await startHttp(
    { host: '127.0.0.1', port: 0, limits: { maxConnections: 100, maxConnectionsPerIp: 2, requestsPerMinutePerIp: 5 } },
    { ready: async () => true, log: silentLogger },
  );
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await fetch(`http://127.0.0.1:${l.port}/healthz`);
      await r.text();
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
    const { connect } = await import('node:net');
    const open = (from: string) =>
      new Promise<import('node:net').Socket>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: l.port, localAddress: from }, () => resolve(s));
        s.on('error', () => {});
      });
    const closed = (s: import('node:net').Socket) =>
      new Promise<boolean>((resolve) => {
        if (s.destroyed) return resolve(true);
        s.once('close', () => resolve(true));
        setTimeout(() => resolve(false), 1000).unref();
      });
    const a = await open('127.0.0.7');
    const b = await open('127.0.0.7');
    const c = await open('127.0.0.7');
    assert.equal(await closed(c), true, 'the third connection from one IP is refused');
    const d = await open('127.0.0.8');
    assert.equal(await closed(d), false, 'another IP is not');
    for (const s of [a, b, d]) s.destroy();
  } finally {
    await l.close(0);
  }
});

/** A listener behind a trusted proxy (oauth.trust_proxy) allowing 3 requests a minute per client. */
const proxied = () =>
  startHttp(
    {
      host: '127.0.0.1',
      port: 0,
      trustProxy: true,
      limits: { maxConnections: 100, maxConnectionsPerIp: 50, requestsPerMinutePerIp: 3 },
    },
    { ready: async () => true, log: silentLogger },
  );

/** The status of GET /healthz as the proxy forwards it for `forwarded` (its X-Forwarded-For). */
async function statusAs(port: number, forwarded: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { 'x-forwarded-for': forwarded } });
  await r.text();
  return r.status;
}

test('behind a trusted proxy (oauth.trust_proxy) the request limit counts the forwarded client, not the proxy', async () => {
  const l = await proxied();
  try {
    const as = (forwarded: string) => statusAs(l.port, forwarded);
    // One client spends its allowance; another behind the same proxy still has its own. The first entry is
    // the client's to write: only the address the proxy appended (the last) counts.
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await as(`198.51.100.${i}, 203.0.113.1`));
    assert.deepEqual(first, [200, 200, 200, 429]);
    assert.equal(await as('203.0.113.2'), 200);
  } finally {
    await l.close(0);
  }
});

test('behind a trusted proxy, a forwarded entry with a port counts its address; garbage counts the proxy', async () => {
  const l = await proxied();
  try {
    const as = (forwarded: string) => statusAs(l.port, forwarded);
    // One client, a new source port each time: one allowance.
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await as(`198.51.100.9:${50000 + i}`));
    assert.deepEqual(first, [200, 200, 200, 429]);
    // Other clients behind the same proxy have their own, IPv6 in brackets too.
    assert.equal(await as('198.51.100.10:50000'), 200);
    const v6 = [];
    for (let i = 0; i < 4; i++) v6.push(await as(`[2001:db8:1::${i + 1}]:${443 + i}`));
    assert.deepEqual(v6, [200, 200, 200, 429], 'one /64');
    // Entries that are no address count against the proxy (the socket), all of them together.
    const junk = [];
    for (const e of ['unknown', '198.51.100.11:70000', '[198.51.100.11]:80', '198.51.100.11:x']) junk.push(await as(e));
    assert.deepEqual(junk, [200, 200, 200, 429]);
  } finally {
    await l.close(0);
  }
});

test('Strict-Transport-Security: never over plain HTTP, whatever an untrusted X-Forwarded-Proto says', async () => {
  const l = await startHttp(
    { host: '127.0.0.1', port: 0, hsts: 'max-age=600' },
    { ready: async () => true, log: silentLogger },
  );
  try {
    const r = await fetch(`http://127.0.0.1:${l.port}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
    await r.text();
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('strict-transport-security'), null);
  } finally {
    await l.close(0);
  }
});
