// The OpenID Provider's advertised URLs under a Host (or, behind a trusted proxy, an X-Forwarded-Host) that
// is not the issuer's: discovery and the device page must name the issuer's endpoints, never the host a
// client chose, or one request through a cache in front (keyed on the path, or not on X-Forwarded-Host)
// would send every client's codes and tokens to that host. Over real HTTP with the header as sent.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every URL in the discovery document (issuer, endpoints, jwks_uri). */
async function advertised(port: number, headers: Record<string, string>): Promise<string[]> {
  const r = await get(port, '/.well-known/openid-configuration', headers);
  assert.equal(r.status, 200);
  return Object.values(JSON.parse(r.body) as Record<string, unknown>).filter(
    (v): v is string => typeof v === 'string' && /^https?:/.test(v),
  );
}

describe('OpenID Provider URLs come from the issuer, not the request', () => {
  let open: TestServer;
  let proxied: TestServer;
  before(async () => {
    open = await startTestServer();
    proxied = await startTestServer({
      configure: (c) => {
        c.oauth.trust_proxy = true;
        c.oauth.issuer = 'https://mail.example.test';
      },
    });
  });
  after(async () => {
    await open?.stop();
    await proxied?.stop();
  });

  test("a Host of the attacker's choosing (no proxy trusted; X-Forwarded-Host ignored)", async () => {
    const issuer = `http://127.0.0.1:${open.ports.http}`;
    const urls = await advertised(open.ports.http, { host: 'evil.example', 'x-forwarded-host': 'evil2.example' });
    assert.ok(urls.length > 5);
    for (const u of urls) assert.ok(u.startsWith(`${issuer}/`) || u === issuer, u);
    const page = await get(open.ports.http, '/oauth/device', { host: 'evil.example', accept: 'text/html' });
    assert.equal(page.status, 200);
    assert.match(page.body, new RegExp(`action="${issuer}/oauth/device"`));
    // The issuer's own host is served as before.
    for (const u of await advertised(open.ports.http, { host: `127.0.0.1:${open.ports.http}` }))
      assert.ok(u.startsWith(issuer), u);
  });

  test('behind a trusted proxy, an X-Forwarded-Host the proxy passed on from the client', async () => {
    const issuer = 'https://mail.example.test';
    const via = { host: 'mail.example.test', 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7' };
    for (const u of await advertised(proxied.ports.http, via)) assert.ok(u.startsWith(issuer), u);
    const urls = await advertised(proxied.ports.http, { ...via, 'x-forwarded-host': 'evil.example' });
    for (const u of urls) assert.ok(u.startsWith(`${issuer}/`) || u === issuer, u);
    const page = await get(proxied.ports.http, '/oauth/device', {
      ...via,
      'x-forwarded-host': 'evil.example',
      accept: 'text/html',
    });
    assert.match(page.body, new RegExp(`action="${issuer}/oauth/device"`));
  });
});
