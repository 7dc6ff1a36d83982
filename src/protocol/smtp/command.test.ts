import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAuth, parseBdat, parseCommandLine, parseHelo, parseMail, parseRcpt } from './command.ts';

test('command lines', () => {
  assert.deepEqual(parseCommandLine(Buffer.from('mail FROM:<a@b.c>')), {
    ok: true,
    value: { verb: 'MAIL', arg: 'FROM:<a@b.c>' },
  });
  assert.deepEqual(parseCommandLine(Buffer.from('QUIT')), { ok: true, value: { verb: 'QUIT', arg: '' } });
  assert.equal(parseCommandLine(Buffer.from([0x4d, 0xff, 0x20])).ok, false);
  assert.equal(parseCommandLine(Buffer.from('MAIL\x00FROM')).ok, false);
  assert.equal(parseCommandLine(Buffer.from('')).ok, false);
});

test('MAIL and RCPT (RFC 5321 section 4.1.1.2, 4.1.1.3)', () => {
  const m = parseMail('FROM:<Smith@bar.com> SIZE=100');
  assert.ok(m.ok);
  assert.equal(m.value.path?.address, 'Smith@bar.com');
  assert.deepEqual(m.value.params, [{ keyword: 'SIZE', value: '100' }]);
  assert.ok(parseMail('FROM: <Smith@bar.com>').ok, 'a space after the colon is tolerated');
  const nul = parseMail('FROM:<>');
  assert.ok(nul.ok && nul.value.path === null);
  assert.equal(parseMail('TO:<a@b.c>').ok, false);
  assert.equal(parseMail('FROM:<a@b.c>junk').ok, false);
  const r = parseRcpt('TO:<Jones@foo.com> NOTIFY=NEVER');
  assert.ok(r.ok && r.value.path?.address === 'Jones@foo.com');
  const pm = parseRcpt('to:<postmaster>');
  assert.ok(pm.ok && pm.value.postmaster);
  assert.equal(parseRcpt('TO:<>').ok, false);
});

test('HELO/EHLO, BDAT, AUTH', () => {
  assert.deepEqual(parseHelo('mx.example.org'), { ok: true, value: 'mx.example.org' });
  assert.ok(parseHelo('[192.0.2.1]').ok);
  assert.ok(parseHelo('laptop').ok);
  assert.ok(parseHelo('my_pc.local').ok);
  assert.equal(parseHelo('host;evil').ok, false);
  assert.equal(parseHelo('(x)').ok, false);
  assert.equal(parseHelo('').ok, false);
  assert.equal(parseHelo('a b').ok, false);
  assert.deepEqual(parseBdat('1000 LAST'), { ok: true, value: { size: 1000, last: true } });
  assert.deepEqual(parseBdat('0'), { ok: true, value: { size: 0, last: false } });
  assert.deepEqual(parseBdat(' 12  last '), { ok: true, value: { size: 12, last: true } });
  assert.equal(parseBdat('-1').ok, false);
  assert.equal(parseBdat('10 FIRST').ok, false);
  assert.deepEqual(parseAuth('plain AGZvbwBiYXI='), {
    ok: true,
    value: { mechanism: 'PLAIN', initial: 'AGZvbwBiYXI=' },
  });
  assert.deepEqual(parseAuth('LOGIN'), { ok: true, value: { mechanism: 'LOGIN', initial: null } });
  assert.deepEqual(parseAuth('PLAIN ='), { ok: true, value: { mechanism: 'PLAIN', initial: '=' } });
  assert.equal(parseAuth('PLAIN a b').ok, false);
});
