// The fields that name a session's client and protocol in the log are the same in SMTP, IMAP and POP3
// (`ip`, `protocol`, as the sign-in failure lines and the metrics name them): one query finds a client's
// lines in every protocol. Real clients over sockets, the server logging JSON into the test.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { RawImap } from '../helpers/imap-client.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { startTestServer } from '../helpers/server.ts';

interface Line {
  msg: string;
  session?: string;
  protocol?: string;
  proto?: string;
  ip?: string;
  remote?: string;
}

/** Sends SMTP lines one at a time, each after the previous reply; resolves when the server closes. */
function smtp(port: number, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const so = connect({ port, host: '127.0.0.1' });
    const todo = [...lines];
    so.on('data', () => {
      const l = todo.shift();
      if (l !== undefined) so.write(`${l}\r\n`);
    });
    so.on('error', reject);
    so.on('close', () => resolve());
  });
}

test('SMTP, IMAP and POP3 session lines carry `protocol` and `ip`, not `proto` or `remote`', async () => {
  const log = captureLog<Line>();
  const s = await startTestServer({ logTo: log.stream });
  try {
    await s.app.directory.addDomain('example.test');
    await s.app.directory.addAccount('alice@example.test', 'correct horse');
    // One logged event in each protocol: a refused recipient, a login, a login.
    await smtp(s.ports.smtp, ['EHLO client.example', 'MAIL FROM:<>', 'RCPT TO:<nobody@example.test>', 'QUIT']);
    const { c: imap } = await RawImap.open(s.ports.imap);
    assert.match((await imap.cmd('LOGIN alice@example.test "correct horse"')).tagged, /OK/);
    await imap.cmd('LOGOUT');
    imap.close();
    const pop = await Pop3Client.open(s.ports.pop3);
    await pop.cmd('USER alice@example.test');
    assert.match(await pop.cmd('PASS correct horse'), /^\+OK/);
    await pop.cmd('QUIT');
    pop.destroy();

    const sessionLines = log.lines.filter((l) => l.session);
    const all = JSON.stringify(sessionLines);
    // SMTP's `protocol` names the kind of listener (mx, submission, lmtp), as it always has.
    for (const want of ['mx', 'imap', 'pop3']) {
      const l = sessionLines.find((x) => (x.protocol ?? x.proto) === want);
      assert.ok(l, `a ${want} session line: ${all}`);
      assert.equal(l.protocol, want, JSON.stringify(l));
    }
    for (const l of sessionLines) {
      assert.equal(l.ip, '127.0.0.1', JSON.stringify(l));
      assert.equal(l.proto, undefined, JSON.stringify(l));
      assert.equal(l.remote, undefined, JSON.stringify(l));
    }
  } finally {
    await s.stop();
  }
});
