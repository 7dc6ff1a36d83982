// The [oauth] config strings: clients (public, confidential, loopback = native) and external providers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClient, parseExternalIdp } from './settings.ts';

test('a client with a secret is confidential; without one public; loopback redirects make it native', () => {
  const c = parseClient('id=webmail; secret=s3; redirect_uris=https://mail.example.com/cb https://b.example/cb');
  assert.equal(c.client_id, 'webmail');
  assert.equal(c.client_secret, 's3');
  assert.equal(c.token_endpoint_auth_method, 'client_secret_basic');
  assert.equal(c.application_type, 'web');
  assert.deepEqual(c.grant_types, ['authorization_code', 'refresh_token']);
  assert.deepEqual(c.redirect_uris, ['https://mail.example.com/cb', 'https://b.example/cb']);
  const p = parseClient('id=app;redirect_uris=http://127.0.0.1/;grant_types=authorization_code,device_code');
  assert.equal(p.token_endpoint_auth_method, 'none');
  assert.equal(p.application_type, 'native');
  assert.deepEqual(p.grant_types, ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code']);
  const d = parseClient('id=tv;grant_types=device_code');
  assert.deepEqual(d.response_types, []);
});

test('client mistakes are reported by name', () => {
  assert.throws(() => parseClient('secret=x'), /no id/);
  assert.throws(() => parseClient('id=a;grant_types=implicit;redirect_uris=https://x/'), /unknown grant type implicit/);
  assert.throws(() => parseClient('id=a'), /needs redirect_uris/);
  assert.throws(() => parseClient('id=a;oops'), /not key=value/);
});

test('external providers: issuer, JWKS, audience, claim (email by default), optional scope and domains', () => {
  assert.deepEqual(parseExternalIdp('issuer=https://idp.example;jwks_uri=https://idp.example/jwks;audience=petrel'), {
    issuer: 'https://idp.example',
    jwksUri: 'https://idp.example/jwks',
    audience: 'petrel',
    claim: 'email',
  });
  assert.equal(parseExternalIdp('issuer=i;jwks_uri=https://i/k;audience=a;claim=upn;scope=mail').scope, 'mail');
  assert.deepEqual(parseExternalIdp('issuer=i;jwks_uri=https://i/k;audience=a;domains=A.test, b.test.').domains, [
    'a.test',
    'b.test',
  ]);
  assert.throws(() => parseExternalIdp('issuer=i;jwks_uri=https://i/k;audience=a;domains=a.test,no_way'), /domain/);
  assert.throws(() => parseExternalIdp('issuer=i;audience=a'), /no jwks_uri/);
  assert.throws(() => parseExternalIdp('issuer=i;jwks_uri=not a url;audience=a'));
});
