// Hostile requests to the client setup endpoints over real HTTP: bodies built to make the Autodiscover
// parser backtrack, XML entities, addresses with characters XML cannot carry, methods other than GET/POST.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const python = peer('python3', 'python3');

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(port: number, method: string, path: string, body?: string, host?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: host ? { host } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether Python's expat reads the document (expat refuses what is not well-formed XML). */
function wellFormed(xml: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = execFile('python3', ['-c', 'import sys, xml.dom.minidom as m; m.parseString(sys.stdin.buffer.read())'], {
      timeout: 15000,
    });
    c.on('exit', (code) => resolve(code === 0));
    c.stdin!.end(xml);
  });
}

const pox = (address: string, prolog = '') =>
  `<?xml version="1.0" encoding="utf-8"?>${prolog}
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>${address}</EMailAddress></Request>
</Autodiscover>`;

describe('client setup under hostile requests', () => {
  let srv: TestServer;
  let port: number;
  before(async () => {
    srv = await startTestServer({
      configure: (c) => {
        c.client_setup.hostname = 'mail.example.test';
      },
      beforeServe: async (app) => {
        await app.directory.addDomain('example.test');
      },
    });
    port = srv.ports.http;
  });
  after(() => srv?.stop());

  // A body of whitespace after <EMailAddress> with no closing tag made the address regex backtrack
  // quadratically: one 16 KiB request held the event loop (every listener) for over a minute. The test's
  // own timeout is the bound: the fixed parser answers at once.
  test('an Autodiscover body built to backtrack is answered, and the server still answers', {
    timeout: 20_000,
  }, async () => {
    const body = `<EMailAddress>${' '.repeat(16_000)}x`;
    const r = await http(port, 'POST', '/autodiscover/autodiscover.xml', body);
    assert.equal(r.status, 400);
    const h = await http(port, 'GET', '/healthz');
    assert.equal(h.status, 200);
    // Many opening tags, each a fresh start for the regex.
    const many = await http(
      port,
      'POST',
      '/autodiscover/autodiscover.xml',
      `<EMailAddress>${'  '.repeat(200)}`.repeat(35),
    );
    assert.equal(many.status, 400);
  });

  test('Autodiscover: the address may have spaces around it inside the element', async () => {
    const r = await http(port, 'POST', '/autodiscover/autodiscover.xml', pox('\n   jane@example.test  \n'));
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /<LoginName>jane@example\.test<\/LoginName>/);
  });

  test('Autodiscover: entities are never expanded (no XXE, no billion laughs)', async () => {
    const xxe = await http(
      port,
      'POST',
      '/autodiscover/autodiscover.xml',
      pox('&xxe;@example.test', '\n<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
    );
    assert.equal(xxe.status, 400);
    assert.doesNotMatch(xxe.body, /root:/);
    const lol = `<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i ? 'b'.repeat(i) : 'a'};`.repeat(10)}">`).join('')}]>`;
    const laughs = await http(port, 'POST', '/autodiscover/autodiscover.xml', pox('x&bbbbbbbbb;@example.test', lol));
    assert.equal(laughs.status, 400);
  });

  // XML 1.0 (section 2.2) has no way to carry C0 controls other than tab/CR/LF, not even as a reference:
  // an address holding one made the reply a document no client can read.
  test('an address with a control character is refused, not echoed into XML or a plist', {
    skip: python.skip,
  }, async () => {
    const ad = await http(port, 'POST', '/autodiscover/autodiscover.xml', pox('ja\x01ne@example.test'));
    assert.equal(ad.status, 400, `answered ${ad.status}, well-formed: ${await wellFormed(ad.body)}`);
    const mc = await http(port, 'GET', '/apple/mobileconfig?email=ja%01ne%40example.test');
    assert.equal(mc.status, 400, mc.body);
    const del = await http(port, 'GET', '/apple/mobileconfig?email=ja%7Fne%40example.test');
    assert.equal(del.status, 400, del.body);
    // Non-ASCII addresses (RFC 6531) still get their profile, and it is well-formed.
    const eai = await http(port, 'GET', '/apple/mobileconfig?email=j%C3%BCrgen%40example.test');
    assert.equal(eai.status, 200, eai.body);
    assert.ok(await wellFormed(eai.body));
  });

  test('HEAD has the headers of GET and no body; other methods get 405 with an Allow naming both', async () => {
    for (const path of [
      '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=u%40example.test',
      '/apple/mobileconfig?email=u%40example.test',
    ]) {
      const get = await http(port, 'GET', path);
      const head = await http(port, 'HEAD', path);
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal(head.headers['content-length'], get.headers['content-length']);
      assert.equal(head.headers['content-type'], get.headers['content-type']);
      for (const m of ['OPTIONS', 'PUT', 'DELETE']) {
        const r = await http(port, m, path);
        assert.equal(r.status, 405, `${m} ${path}`);
        assert.deepEqual(String(r.headers.allow).split(/,\s*/).sort(), ['GET', 'HEAD']);
      }
    }
    const pol = await http(port, 'OPTIONS', '/.well-known/mta-sts.txt', undefined, 'mta-sts.example.test');
    assert.equal(pol.status, 405);
    assert.deepEqual(String(pol.headers.allow).split(/,\s*/).sort(), ['GET', 'HEAD']);
  });

  test('a Host of a domain not hosted here gets 404 and is never written into the reply', async () => {
    const r = await http(port, 'GET', '/mail/config-v1.1.xml', undefined, 'autoconfig.evil.test');
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.body, /evil/);
    const both = await http(
      port,
      'GET',
      '/mail/config-v1.1.xml?emailaddress=u%40example.test',
      undefined,
      'autoconfig.evil.test',
    );
    assert.equal(both.status, 200);
    assert.doesNotMatch(both.body, /evil/);
  });
});
