// HTTP Strict Transport Security (RFC 6797), opt-in by listeners.http.hsts_max_age_s: sent on every answer
// the HTTP listener gives over HTTPS (its own TLS, or a trusted proxy's per X-Forwarded-Proto), never over
// plain HTTP (section 7.2), and not at all while the key keeps its default (-1). 0 sends max-age=0: the way
// to make browsers forget the rule once it was on (section 6.1.1).
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const YEAR = 31_536_000;
let tls: TestServer;
let plain: TestServer;
let off: TestServer;
let forget: TestServer;

before(async () => {
  // No certificate configured: the listener serves a self-signed one, which this client does not verify.
  tls = await startTestServer({
    configure: (c) => {
      c.listeners.http.tls = true;
      c.listeners.http.hsts_max_age_s = YEAR;
      c.listeners.http.hsts_include_subdomains = true;
    },
  });
  plain = await startTestServer({
    configure: (c) => {
      c.listeners.http.hsts_max_age_s = YEAR;
      c.oauth.trust_proxy = true;
    },
  });
  off = await startTestServer({ configure: (c) => (c.listeners.http.tls = true) });
  forget = await startTestServer({
    configure: (c) => {
      c.listeners.http.tls = true;
      c.listeners.http.hsts_max_age_s = 0;
      c.listeners.http.hsts_include_subdomains = true;
    },
  });
});
after(async () => {
  await tls?.stop();
  await plain?.stop();
  await off?.stop();
  await forget?.stop();
});

/** GET `path` from a listener: the status and the Strict-Transport-Security field (undefined when absent). */
function get(
  port: number,
  path: string,
  o: { https?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; sts: string | string[] | undefined }> {
  const request = o.https ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: o.headers, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sts: res.headers['strict-transport-security'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('over HTTPS every answer carries Strict-Transport-Security with the configured max-age', async () => {
  const port = tls.ports.http!;
  // An OpenID Provider error page (unknown client) and a Koa 404 below /oauth/ too.
  for (const path of [
    '/healthz',
    '/no-such-page',
    '/.well-known/openid-configuration',
    '/account',
    '/oauth/authorize?client_id=nope',
    '/oauth/nothing',
  ]) {
    const r = await get(port, path, { https: true });
    assert.equal(r.sts, `max-age=${YEAR}; includeSubDomains`, `${path} (${r.status})`);
  }
});

test('over plain HTTP it is never sent (RFC 6797 section 7.2), unless a trusted proxy says the client used https', async () => {
  const port = plain.ports.http!;
  assert.equal((await get(port, '/healthz')).sts, undefined);
  assert.equal((await get(port, '/healthz', { headers: { 'x-forwarded-proto': 'http' } })).sts, undefined);
  // Behind a TLS-terminating proxy (oauth.trust_proxy) the client's connection is the proxy's HTTPS one.
  const proxied = await get(port, '/healthz', { headers: { 'x-forwarded-proto': 'https' } });
  assert.equal(proxied.sts, `max-age=${YEAR}`, 'no includeSubDomains unless configured');
});

test('off by default: no Strict-Transport-Security over HTTPS while hsts_max_age_s is left at -1', async () => {
  assert.equal((await get(off.ports.http!, '/healthz', { https: true })).sts, undefined);
});

test('hsts_max_age_s = 0 sends max-age=0, which tells browsers to forget the host (RFC 6797 section 6.1.1)', async () => {
  const port = forget.ports.http!;
  for (const path of ['/healthz', '/no-such-page', '/oauth/nothing'])
    assert.equal((await get(port, path, { https: true })).sts, 'max-age=0; includeSubDomains', path);
});
