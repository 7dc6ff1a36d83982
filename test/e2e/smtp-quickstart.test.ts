// The quick start as a new user meets it, for mail: `petrel serve` in an empty directory, swaks sends a
// message to the bootstrap administrator on port 2525's stand-in, and it is in that INBOX byte-exact plus
// the trace header fields.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { inboxOf, openStoppedPetrel, type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'petrel-quick-smtp-'));
let running: PetrelProcess | null = null;
after(async () => {
  if (running) await stopPetrel(running.child, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
const swaks = peer('swaks', 'swaks');

test('swaks to the quick-start server: stored in admin@localhost INBOX byte-exact plus trace headers', {
  skip: swaks.skip,
}, async () => {
  const p = await startPetrel(dir);
  running = p;
  assert.ok(p.ports.smtp > 0, 'the MX listener runs');
  const msg =
    'From: Someone <someone@remote.test>\r\nTo: admin@localhost\r\nSubject: quick start\r\n' +
    'Message-ID: <quickstart-swaks@test>\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\nIt works.\r\n..and dots.\r\n';
  const file = join(dir, 'msg.eml');
  writeFileSync(file, msg.slice(0, -2)); // swaks adds the final CRLF before its "."
  const r = await run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(p.ports.smtp),
    '--from',
    'someone@remote.test',
    '--to',
    'admin@localhost',
    '--data',
    `@${file}`,
  ]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /<- {2}250 2\.0\.0 OK: queued as/);
  assert.equal(await stopPetrel(p.child), 0);

  const app = await openStoppedPetrel(dir);
  try {
    const inbox = await inboxOf(app, 'admin@localhost');
    assert.equal(inbox.length, 1);
    const stored = inbox[0].toString();
    // Our trace fields, then the spam filter's Authentication-Results (RFC 8601) and X-Spam-* lines.
    const trace =
      /^Delivered-To: admin@localhost\r\nReturn-Path: <someone@remote\.test>\r\nReceived: from [^\r]+\r\n\tby localhost \(Petrel\) with ESMTP id \S+\r\n\tfor <admin@localhost>; [^\r]+ \+0000\r\nAuthentication-Results: localhost;(?:[^\r]*\r\n[ \t])*[^\r]*\r\n(?:X-Spam-[A-Za-z]+: [^\r]*\r\n(?:\t[^\r]*\r\n)*)+/;
    const m = trace.exec(stored);
    assert.ok(m, stored);
    assert.equal(stored.slice(m[0].length), msg);
  } finally {
    await app.close();
  }
});
