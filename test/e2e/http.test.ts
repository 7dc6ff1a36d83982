// The HTTP listener: /healthz always, /readyz only while the store answers, on SQLite and PostgreSQL; and what
// a client on the network meets on every route (headers, methods, request forms), over real sockets.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it, test } from 'node:test';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const pg = pgTestUrl();
for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`http on ${backend}`, () => {
    it('answers health and readiness, and readiness fails when the store is gone', {
      skip: backend === 'postgres' && !pg ? PG_SKIP_REASON : undefined,
    }, async () => {
      const s = await startTestServer({ backend, pgUrl: pg });
      try {
        const base = `http://127.0.0.1:${s.ports.http}`;
        assert.equal((await fetch(`${base}/healthz`)).status, 200);
        const ready = await fetch(`${base}/readyz`);
        assert.equal(ready.status, 200);
        assert.deepEqual(await ready.json(), { status: 'ready' });
        assert.equal((await fetch(`${base}/healthz`, { method: 'POST' })).status, 404);
        await s.app.store.close();
        const down = await fetch(`${base}/readyz`);
        assert.equal(down.status, 503);
        assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the process itself is alive');
      } finally {
        await s.stop();
      }
    });
  });
}

/** A raw request over a socket and the whole answer as text (until the server closes or `ms` pass). */
function raw(port: number, text: string, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const s = connect({ host: '127.0.0.1', port }, () => s.write(text));
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, ms);
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    s.on('close', done);
    s.on('error', done);
  });
}

describe('the HTTP listener as a client on the network meets it', () => {
  let s: TestServer;
  let port: number;
  before(async () => {
    s = await startTestServer({ beforeServe: (app) => app.directory.addDomain('example.test').then(() => {}) });
    port = s.ports.http;
  });
  after(() => s?.stop());

  test('every answer says nosniff and which referrer to send (the sign-in pages, JSON, errors, the provider)', async () => {
    for (const [path, accept] of [
      ['/healthz', '*/*'],
      ['/nowhere', '*/*'],
      ['/account', 'text/html'],
      ['/account', 'application/json'],
      ['/oauth/device', 'text/html'],
      ['/.well-known/openid-configuration', '*/*'],
      ['/mail/config-v1.1.xml?emailaddress=a@example.test', '*/*'],
    ]) {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { accept } });
      await r.text();
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('referrer-policy'), 'strict-origin-when-cross-origin', path);
    }
  });

  test('a method a route does not have gets 405 with the Allow list (RFC 9110 section 15.5.6)', async () => {
    for (const [path, allow] of [
      ['/account', 'GET, HEAD, POST'],
      ['/account/spam', 'GET, HEAD, POST'],
      ['/mail/config-v1.1.xml', 'GET, HEAD'],
      ['/autodiscover/autodiscover.xml', 'POST'],
    ]) {
      for (const method of ['PUT', 'DELETE', 'PATCH']) {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
        await r.text();
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
      }
    }
  });

  test('a request target in absolute form is served as its path, for the host it names (RFC 9112 section 3.2.2)', async () => {
    const health = await raw(
      port,
      `GET http://127.0.0.1:${port}/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assert.match(health, /^HTTP\/1\.1 200 [\s\S]*\{"status":"ok"\}$/);
    // The MTA-STS policy is chosen by host: the target's, not the Host field's.
    const policy = await raw(
      port,
      'GET HTTPS://mta-sts.example.test/.well-known/mta-sts.txt HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: close\r\n\r\n',
    );
    assert.match(policy, /^HTTP\/1\.1 200 [\s\S]*version: STSv1/);
    // No path is "/"; a user name in an http URI is an error (RFC 9110 section 4.2.4).
    assert.match(
      await raw(port, 'GET http://x?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      /^HTTP\/1\.1 404 /,
    );
    assert.match(
      await raw(port, 'GET http://u@x/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      /^HTTP\/1\.1 400 /,
    );
  });

  test('the device pages without a sign-in session answer with the code form, not a 500', async () => {
    // No cookie: a form posted without its page, a device link of a flow that is not there.
    const post = await fetch(`http://127.0.0.1:${port}/oauth/device`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: 'xsrf=x&user_code=ABCD-EFGH',
    });
    assert.equal(post.status, 400);
    assert.match(await post.text(), /name="user_code"/);
    const resume = await fetch(`http://127.0.0.1:${port}/oauth/device/nosuchflow`, {
      headers: { accept: 'text/html' },
    });
    assert.equal(resume.status, 400);
    assert.match(await resume.text(), /name="user_code"/);
  });

  test('a body over the limit of an /account form gets 413 from its Content-Length, before it is sent, and the connection ends', async () => {
    for (const path of ['/account/login', '/account/2fa/enrol']) {
      for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
        const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: 1000000000\r\n\r\n`;
        // Only the header section is sent: the answer cannot wait for the body.
        const r = await raw(port, head, 10_000);
        assert.match(r, /^HTTP\/1\.1 413 /, `${path} ${type}`);
        assert.match(r, /\r\nConnection: close\r\n/i, `${path} ${type}`);
      }
    }
    // A chunked body has no length to judge by: past 16 KiB it gets the same answer.
    const chunk = `4000\r\n${'a'.repeat(0x4000)}\r\n`;
    const r = await raw(
      port,
      `POST /account/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}`,
      10_000,
    );
    assert.match(r, /^HTTP\/1\.1 413 /);
  });
});
