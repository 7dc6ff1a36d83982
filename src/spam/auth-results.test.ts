// Removal of Authentication-Results fields that claim our authserv-id (RFC 8601 section 5); partial-body
// DKIM passes written as what we made of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authservIdOf, stripOwnAuthResults } from './auth-results.ts';
import { withPartialDkim } from './checks/auth.ts';

test('authserv-id of AR and ARC-AR values, comments and quotes ignored', () => {
  assert.equal(authservIdOf('mx.example.org; spf=pass', false), 'mx.example.org');
  assert.equal(authservIdOf(' (forged) "MX.Example.Org" 1; dkim=pass', false), 'mx.example.org');
  assert.equal(authservIdOf('i=2; mx.example.org; dmarc=pass', true), 'mx.example.org');
  assert.equal(authservIdOf('mx.example.org', false), 'mx.example.org');
  // Comments nest and hold quoted-pairs (RFC 5322 section 3.2.2); a quoted-string holds quoted-pairs.
  assert.equal(authservIdOf('(relay (internal)) mx.example.org; dkim=pass', false), 'mx.example.org');
  assert.equal(authservIdOf('(note \\) x) mx.example.org; dkim=pass', false), 'mx.example.org');
  assert.equal(authservIdOf('(a (b \\( c) d)\r\n mx.example.org', false), 'mx.example.org');
  assert.equal(authservIdOf('"mx.example\\.org"; spf=pass', false), 'mx.example.org');
  assert.equal(authservIdOf('mx.example.org/x; spf=pass', false), 'mx.example.org');
  assert.equal(authservIdOf('mx.example.org.evil.test; spf=pass', false), 'mx.example.org.evil.test');
  assert.equal(authservIdOf('i=1; (c) mx.example.org; dmarc=pass', true), 'mx.example.org');
  assert.equal(authservIdOf('i = 3 (x) ; mx.example.org', true), 'mx.example.org');
  assert.equal(authservIdOf('((unclosed mx.example.org', false), '');
});

test('only our Authentication-Results go (and X-Spam-* from outside), folded lines included; ARC sets and the body are untouched', () => {
  const raw = Buffer.from(
    'Authentication-Results: mx.test.petrel;\r\n spf=pass smtp.mailfrom=x@y\r\n' +
      'Authentication-Results: other.example; spf=fail\r\n' +
      'ARC-Authentication-Results: i=1; MX.TEST.PETREL; dkim=pass\r\n' +
      'X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-100\r\n\ttests=FAKE\r\n' +
      'Subject: hi\r\n\r\nAuthentication-Results: mx.test.petrel; body line\r\n',
  );
  const out = stripOwnAuthResults(raw, 'mx.test.petrel').toString();
  assert.equal(
    out,
    // ARC-Authentication-Results stay: later seals signed them (RFC 8617 section 5.1.1).
    'Authentication-Results: other.example; spf=fail\r\nARC-Authentication-Results: i=1; MX.TEST.PETREL; dkim=pass\r\n' +
      'Subject: hi\r\n\r\nAuthentication-Results: mx.test.petrel; body line\r\n',
  );
  const clean = Buffer.from('Subject: x\r\n\r\nbody');
  assert.equal(stripOwnAuthResults(clean, 'mx.test.petrel'), clean);
});

test('a partial-body DKIM pass is written dkim=policy; a DMARC pass on it alone dmarc=fail; ARC comments untouched', () => {
  const value =
    'mx.test.petrel;\r\n dkim=pass (undersized signature: 90 bytes unsigned) header.i=@a.example header.s=s1;\r\n' +
    ' dkim=pass header.i=@b.example header.s=s2;\r\n spf=fail smtp.mailfrom=a.example;\r\n' +
    ' arc=pass (i=1 spf=pass dkim=pass dkdomain=a.example dmarc=pass fromdomain=a.example);\r\n' +
    ' dmarc=pass (p=REJECT sp=REJECT pct=100) header.from=a.example';
  assert.equal(
    withPartialDkim(value, true),
    'mx.test.petrel;\r\n dkim=policy (undersized signature: 90 bytes unsigned) header.i=@a.example header.s=s1;\r\n' +
      ' dkim=pass header.i=@b.example header.s=s2;\r\n spf=fail smtp.mailfrom=a.example;\r\n' +
      ' arc=pass (i=1 spf=pass dkim=pass dkdomain=a.example dmarc=pass fromdomain=a.example);\r\n' +
      ' dmarc=fail (passes only with a DKIM signature that leaves part of the body unsigned) (p=REJECT sp=REJECT pct=100) header.from=a.example',
  );
  // DMARC passed on SPF or a whole signature: only the DKIM resinfo changes.
  assert.match(withPartialDkim(value, false), /;\s*dkim=policy \(undersized[\s\S]*dmarc=pass \(p=REJECT/);
});
