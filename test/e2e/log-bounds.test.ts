// The log under hostile input: what a client sends cheaply and over and over (a command, a connection)
// must not write a line each time, or one client fills the disk at the default info level. Real clients
// over sockets to a whole server logging JSON into the test.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawImap } from '../helpers/imap-client.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface Line {
  msg: string;
  clientId?: Record<string, string>;
  [k: string]: unknown;
}

const log = captureLog<Line>();
let s: TestServer;

before(async () => {
  s = await startTestServer({ logTo: log.stream });
});
after(() => s?.stop());

test('IMAP ID is logged once per session, however often the client sends it', async () => {
  const { c } = await RawImap.open(s.ports.imap);
  const before = log.lines.length;
  // A pipeline of 2,000 IDs: each is answered, and only the first is logged (as Dovecot logs the ID once).
  const n = 2000;
  let batch = '';
  for (let i = 0; i < n; i++) batch += `i${i} ID ("name" "client ${i}")\r\n`;
  c.socket.write(batch);
  const last = await c.until(`i${n - 1}`, 30000);
  assert.match(last.tagged, /^i1999 OK /);
  assert.equal(last.lines.filter((l) => l === '* ID ("name" "Petrel" "vendor" "Petrel")').length, n);
  const ids = log.lines.slice(before).filter((l) => l.msg === 'client id');
  assert.equal(ids.length, 1, `${ids.length} "client id" lines`);
  assert.deepEqual(ids[0].clientId, { name: 'client 0' });
  c.close();
});
