// The peer harness itself: a private Dovecot starts on free ports and answers IMAP.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { peer, startDovecot } from './peers.ts';

const dovecot = peer('dovecot', 'dovecot-imapd dovecot-pop3d dovecot-lmtpd');

test('a private Dovecot starts on free loopback ports and greets', { skip: dovecot.skip }, async () => {
  const d = await startDovecot({ users: 2 });
  try {
    const greeting = await new Promise<string>((resolve, reject) => {
      const c = connect({ port: d.imapPort, host: '127.0.0.1' });
      c.setTimeout(10000, () => reject(new Error('no greeting within 10 s')));
      c.once('data', (b) => {
        resolve(b.toString());
        c.destroy();
      });
      c.once('error', reject);
    });
    assert.match(greeting, /^\* OK/);
  } finally {
    await d.stop();
  }
});
