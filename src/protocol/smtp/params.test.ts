import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeXtext, type EsmtpParam, encodeXtext, mailParams, parseParams, rcptParams } from './params.ts';

/** The parameters of a string known to parse. */
function ps(s: string): EsmtpParam[] {
  const p = parseParams(s);
  assert.ok(p.ok, s);
  return p.params;
}

const ALL = { size: true, body8: true, binary: true, smtpUtf8: true, dsn: true, auth: true, requireTls: true };

test('xtext (RFC 3461 section 4)', () => {
  assert.equal(decodeXtext('QQQ1234567'), 'QQQ1234567');
  assert.equal(decodeXtext('rfc822+3Bfoo+2Bbar@example.com'), 'rfc822;foo+bar@example.com');
  assert.equal(decodeXtext('bad+zz'), null);
  assert.equal(decodeXtext('a=b'), null);
  assert.equal(encodeXtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.equal(decodeXtext(encodeXtext('Grüße;x')), 'Grüße;x');
});

test('MAIL parameters (RFC 1870, 6152, 3461, 6531, 8689)', () => {
  const p = parseParams(' SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B1 REQUIRETLS');
  assert.ok(p.ok);
  const m = mailParams(p.params, ALL);
  assert.deepEqual(m, {
    ok: true,
    value: { size: 1000, body: '8BITMIME', smtpUtf8: true, ret: 'HDRS', envId: 'QQ+1', requireTls: true },
  });
  const unknown = mailParams(ps(' FOO=1'), ALL);
  assert.ok(!unknown.ok && unknown.unknown);
  assert.equal(mailParams(ps(' SIZE=x'), ALL).ok, false);
  assert.equal(mailParams(ps(' REQUIRETLS'), { ...ALL, requireTls: false }).ok, false);
  assert.equal(parseParams(' SIZE=1 SIZE=2').ok, false);
  assert.equal(parseParams(' -X=1').ok, false);
});

test('RCPT parameters: NOTIFY and ORCPT (RFC 3461 section 4)', () => {
  const p = parseParams(' NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+40example.org');
  assert.ok(p.ok);
  assert.deepEqual(rcptParams(p.params, ALL), {
    ok: true,
    value: { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;Bob@example.org' },
  });
  const never = parseParams(' NOTIFY=NEVER');
  assert.ok(never.ok);
  assert.deepEqual(rcptParams(never.params, ALL), { ok: true, value: { notify: 'NEVER' } });
  for (const bad of [' NOTIFY=NEVER,SUCCESS', ' NOTIFY=SOMETIMES', ' ORCPT=rfc822', ' ORCPT=;x']) {
    const q = parseParams(bad);
    assert.ok(q.ok);
    assert.equal(rcptParams(q.params, ALL).ok, false, bad);
  }
});
