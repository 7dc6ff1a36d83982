// A second, independent OpenID provider for tests, run as a child process: it publishes discovery and a
// JWKS on 127.0.0.1 and signs JWT access tokens with the claims a test posts to /issue (or, at
// /issue-rogue, with a key it does not publish under the same key id). Prints {"issuer": ...} when ready.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const kid = randomUUID();
const good = await generateKeyPair('RS256');
const rogue = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(good.publicKey)), kid, alg: 'RS256', use: 'sig' };
let issuer = '';

const server = createServer(async (req, res) => {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/.well-known/openid-configuration')
    return send(200, { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
  if (req.url === '/jwks') return send(200, { keys: [jwk] });
  if (req.method === 'POST' && (req.url === '/issue' || req.url === '/issue-rogue')) {
    let body = '';
    for await (const c of req) body += String(c);
    const claims = JSON.parse(body) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({
      ...claims,
      iss: String(claims.iss ?? issuer),
      iat: now,
      jti: randomUUID(),
    }).setProtectedHeader({
      alg: 'RS256',
      kid,
      typ: 'at+jwt',
    });
    if (claims.exp === undefined) jwt.setExpirationTime(now + 300);
    return send(200, { access_token: await jwt.sign(req.url === '/issue' ? good.privateKey : rogue.privateKey) });
  }
  send(404, { error: 'not found' });
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address() as { port: number };
  issuer = `http://127.0.0.1:${a.port}`;
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
