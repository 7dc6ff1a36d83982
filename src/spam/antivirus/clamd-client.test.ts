// The clamd client's parsing: addresses as configured, replies as clamd words them (clamd(8), INSTREAM).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClamdTooLarge, parseClamdAddress, parseReply } from './clamd-client.ts';

test('clamd addresses: socket paths, host:port, bracketed IPv6; anything else refused', () => {
  assert.deepEqual(parseClamdAddress('/run/clamav/clamd.ctl'), { path: '/run/clamav/clamd.ctl' });
  assert.deepEqual(parseClamdAddress('127.0.0.1:3310'), { host: '127.0.0.1', port: 3310 });
  assert.deepEqual(parseClamdAddress('clamav.mail.svc:3310'), { host: 'clamav.mail.svc', port: 3310 });
  assert.deepEqual(parseClamdAddress('[::1]:3310'), { host: '::1', port: 3310 });
  for (const bad of ['', 'clamd', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'relative/path', '::1:3310'])
    assert.equal(parseClamdAddress(bad), null, bad);
});

test('clamd replies: OK, FOUND with the name cleaned for an SMTP line, errors thrown', () => {
  assert.deepEqual(parseReply('stream: OK\0'), { infected: false });
  assert.deepEqual(parseReply('stream: Win.Test.EICAR_HDB-1 FOUND\0'), {
    infected: true,
    name: 'Win.Test.EICAR_HDB-1',
  });
  assert.deepEqual(parseReply('stream: Bad\tName FOUND'), { infected: true, name: 'Bad_Name' });
  assert.equal((parseReply(`stream: ${'x'.repeat(500)} FOUND`) as { name: string }).name.length, 120);
  assert.throws(
    () => parseReply('INSTREAM size limit exceeded. ERROR\0'),
    (e: unknown) => e instanceof ClamdTooLarge && /clamd: INSTREAM size limit exceeded\. ERROR/.test(e.message),
  );
  assert.throws(
    () => parseReply("stream: Can't allocate memory ERROR\0"),
    (e: unknown) => !(e instanceof ClamdTooLarge),
  );
  assert.throws(() => parseReply(''), /clamd: empty reply/);
});
