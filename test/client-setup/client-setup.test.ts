// Automatic client setup over HTTP against a started server, fetched with curl and read back with
// Python's XML and plist parsers: Thunderbird autoconfig (both URLs), Outlook Autodiscover (POX), the
// Apple profile; only hosted domains answer; everything advertised is the public name and ports.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const curl = peer('curl', 'curl');
const python = peer('python3', 'python3');

interface Reply {
  status: number;
  type: string;
  body: string;
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = execFile(cmd, args, { timeout: 15000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} failed (${err.code}): ${stderr.slice(0, 500)}`)) : resolve(stdout),
    );
    c.stdin!.end(input ?? '');
  });
}

/** curl, returning status, content type and body. */
async function fetchWith(url: string, extra: string[] = []): Promise<Reply> {
  const out = await run('curl', ['-s', '-o', '-', '-w', '\n%{http_code} %{content_type}', ...extra, url]);
  const cut = out.lastIndexOf('\n');
  const [status, ...type] = out.slice(cut + 1).split(' ');
  return { status: Number(status), type: type.join(' '), body: out.slice(0, cut) };
}

/** Parses XML with Python's ElementTree (namespaces stripped) into nested {tag, attrs, text, children}. */
interface El {
  tag: string;
  attrs: Record<string, string>;
  text: string;
  children: El[];
}
async function parseXml(xml: string): Promise<El> {
  const script = `
import sys, json, xml.etree.ElementTree as ET
def conv(e):
    return {"tag": e.tag.split('}')[-1], "attrs": e.attrib, "text": (e.text or "").strip(), "children": [conv(c) for c in e]}
print(json.dumps(conv(ET.fromstring(sys.stdin.buffer.read()))))
`;
  return JSON.parse(await run('python3', ['-c', script], xml));
}
const kids = (e: El, tag: string) => e.children.filter((c) => c.tag === tag);
const kid = (e: El, tag: string) => kids(e, tag)[0];
const text = (e: El, tag: string) => kid(e, tag)?.text;

describe('client setup', { skip: curl.skip ?? python.skip }, () => {
  let srv: TestServer;
  let base: string;
  const NAME = 'Example <Mail> & "Co"';
  before(async () => {
    srv = await startTestServer({
      configure: (c) => {
        c.client_setup.hostname = 'mail.example.test';
        c.client_setup.display_name = NAME;
        // Plain POP3 off: it must not be advertised.
        c.listeners.pop3.enabled = false;
      },
      beforeServe: async (app) => {
        await app.directory.addDomain('example.test');
      },
    });
    base = `http://127.0.0.1:${srv.ports.http}`;
  });
  after(() => srv?.stop());

  function checkAutoconfig(root: El, domain: string) {
    assert.equal(root.tag, 'clientConfig');
    assert.equal(root.attrs.version, '1.1');
    const p = kid(root, 'emailProvider');
    assert.equal(p.attrs.id, domain);
    assert.equal(text(p, 'domain'), domain);
    assert.equal(text(p, 'displayName'), NAME, 'escaped and read back intact');
    const incoming = kids(p, 'incomingServer').map(
      (s) => `${s.attrs.type} ${text(s, 'hostname')}:${text(s, 'port')} ${text(s, 'socketType')}`,
    );
    assert.deepEqual(incoming, [
      'imap mail.example.test:993 SSL',
      'imap mail.example.test:143 STARTTLS',
      'pop3 mail.example.test:995 SSL',
    ]);
    const outgoing = kids(p, 'outgoingServer').map(
      (s) => `${s.attrs.type} ${text(s, 'port')} ${text(s, 'socketType')}`,
    );
    assert.deepEqual(outgoing, ['smtp 465 SSL', 'smtp 587 STARTTLS']);
    for (const s of [...kids(p, 'incomingServer'), ...kids(p, 'outgoingServer')]) {
      assert.equal(text(s, 'username'), '%EMAILADDRESS%');
      assert.deepEqual(
        kids(s, 'authentication').map((a) => a.text),
        ['password-cleartext', 'OAuth2'],
      );
    }
    // OAuth 2.0 with Petrel's own provider and its built-in public client (Thunderbird's format).
    const o = kid(root, 'oAuth2');
    const issuer = `http://127.0.0.1:${srv.ports.http}`;
    assert.equal(text(o, 'issuer'), issuer);
    assert.equal(text(o, 'scope'), 'openid email offline_access mail');
    assert.equal(text(o, 'authURL'), `${issuer}/oauth/authorize`);
    assert.equal(text(o, 'tokenURL'), `${issuer}/oauth/token`);
    assert.equal(text(o, 'clientID'), 'thunderbird');
  }

  test('Thunderbird autoconfig: /.well-known path with ?emailaddress=', async () => {
    const r = await fetchWith(`${base}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=user%40example.test`);
    assert.equal(r.status, 200, r.body);
    assert.match(r.type, /xml/);
    checkAutoconfig(await parseXml(r.body), 'example.test');
    // The advertised endpoints are the provider's own (its discovery document says the same).
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string
    >;
    assert.equal(discovery.authorization_endpoint, `${base}/oauth/authorize`);
    assert.equal(discovery.token_endpoint, `${base}/oauth/token`);
  });

  test('Thunderbird autoconfig: the autoconfig.<domain> host, with and without the address', async () => {
    const plain = await fetchWith(`${base}/mail/config-v1.1.xml`, ['-H', 'Host: autoconfig.example.test']);
    assert.equal(plain.status, 200, plain.body);
    checkAutoconfig(await parseXml(plain.body), 'example.test');
    const withAddr = await fetchWith(`${base}/mail/config-v1.1.xml?emailaddress=a.b%40EXAMPLE.test`, [
      '-H',
      'Host: autoconfig.example.test',
    ]);
    checkAutoconfig(await parseXml(withAddr.body), 'example.test');
  });

  test('domains this server does not host get 404; bad input 400', async () => {
    const other = await fetchWith(`${base}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=u%40other.test`);
    assert.equal(other.status, 404);
    const host = await fetchWith(`${base}/mail/config-v1.1.xml`, ['-H', 'Host: autoconfig.other.test']);
    assert.equal(host.status, 404);
    const mob = await fetchWith(`${base}/apple/mobileconfig?email=u%40other.test`);
    assert.equal(mob.status, 404);
    const bad = await fetchWith(`${base}/apple/mobileconfig?email=%3Cscript%3E`);
    assert.equal(bad.status, 400);
  });

  const podRequest = (address: string) =>
    `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;

  test('Autodiscover (POX): IMAP, POP3 and SMTP over TLS for the address, on both spellings of the path', async () => {
    for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      const r = await fetchWith(`${base}${path}`, [
        '-X',
        'POST',
        '-H',
        'Content-Type: text/xml',
        '--data-binary',
        podRequest('jane@example.test'),
      ]);
      assert.equal(r.status, 200, r.body);
      const root = await parseXml(r.body);
      assert.equal(root.tag, 'Autodiscover');
      const account = kid(kid(root, 'Response'), 'Account');
      assert.equal(text(account, 'AccountType'), 'email');
      assert.equal(text(account, 'Action'), 'settings');
      const protos = kids(account, 'Protocol').map(
        (p) =>
          `${text(p, 'Type')} ${text(p, 'Server')}:${text(p, 'Port')} ${text(p, 'SSL')} ${text(p, 'Encryption')} ${text(p, 'LoginName')}`,
      );
      assert.deepEqual(protos, [
        'IMAP mail.example.test:993 on SSL jane@example.test',
        'POP3 mail.example.test:995 on SSL jane@example.test',
        'SMTP mail.example.test:465 on SSL jane@example.test',
      ]);
    }
    const other = await fetchWith(`${base}/autodiscover/autodiscover.xml`, [
      '--data-binary',
      podRequest('x@other.test'),
    ]);
    assert.equal(other.status, 404);
    const get = await fetchWith(`${base}/autodiscover/autodiscover.xml`);
    assert.equal(get.status, 405);
    const huge = await fetchWith(`${base}/autodiscover/autodiscover.xml`, ['--data-binary', 'x'.repeat(100_000)]);
    assert.equal(huge.status, 413);
  });

  test('Apple profile: a mail account payload with the public servers, read back by plistlib', async () => {
    const r = await fetchWith(`${base}/apple/mobileconfig?email=jane%40example.test`);
    assert.equal(r.status, 200, r.body);
    assert.match(r.type, /^application\/x-apple-aspen-config/);
    const script = `
import sys, json, plistlib
print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))
`;
    const p = JSON.parse(await run('python3', ['-c', script], r.body));
    assert.equal(p.PayloadType, 'Configuration');
    assert.equal(p.PayloadVersion, 1);
    assert.equal(p.PayloadContent.length, 1);
    const a = p.PayloadContent[0];
    assert.equal(a.PayloadType, 'com.apple.mail.managed');
    assert.equal(a.EmailAccountType, 'EmailTypeIMAP');
    assert.equal(a.EmailAddress, 'jane@example.test');
    assert.equal(a.IncomingMailServerHostName, 'mail.example.test');
    assert.equal(a.IncomingMailServerPortNumber, 993);
    assert.equal(a.IncomingMailServerUseSSL, true);
    assert.equal(a.OutgoingMailServerPortNumber, 465);
    assert.equal(a.OutgoingMailServerUseSSL, true);
    assert.equal(a.EmailAccountDescription, NAME);
    assert.match(p.PayloadUUID, /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    // The same address gives the same profile identity (a second install replaces the first).
    const again = await fetchWith(`${base}/apple/mobileconfig?email=jane%40example.test`);
    assert.equal(again.body, r.body);
  });
});
