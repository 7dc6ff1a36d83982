// The spam trap and outbound scan counters on /metrics (petrel.spam.trap_hits, petrel.spam.outbound), read
// by curl as a Prometheus scraper would: a trap hit from a stranger (learned) and from an allow-listed
// client (not learned); a clean and a refused submission. Its own file: the telemetry SDK is set up once
// per process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { GTUBE } from '../../src/spam/checks/gtube.ts';
import { peer } from '../helpers/peers.ts';
import { message, send, startSpamWorld, submit, USER } from './fixture.ts';

const run = promisify(execFile);
const curl = peer('curl', 'curl');

test('trap hits are counted by learned, outbound scans by result', { skip: curl.skip, timeout: 60000 }, async () => {
  const f = await startSpamWorld({
    configure(c) {
      c.metrics.enabled = true;
      c.listeners.http.enabled = true;
      c.spam.traps.addresses = ['trap@example.com'];
      c.spam.outbound.enabled = true;
      c.listeners.submission.enabled = true;
    },
  });
  try {
    await f.app.store.spam.addListEntry({
      kind: 'allow',
      accountId: null,
      entry: '127.0.0.48',
      note: '',
      createdAt: Date.now(),
    });
    const from = 'a@outside.test';
    const trap = (ip: string) =>
      send(f, { ip, helo: 'mail.outside.test', from, to: ['trap@example.com'], raw: message(from, 'hi') });
    assert.ok((await trap('127.0.0.47')).ok);
    assert.ok((await trap('127.0.0.48')).ok);
    const clean = await submit(f, { to: [USER], raw: message(USER, 'clean') });
    assert.ok(clean.ok, clean.response);
    assert.equal((await submit(f, { to: [USER], raw: message(USER, 'gtube', '', `${GTUBE}\r\n`) })).code, 554);

    const body = (await run(curl.path!, ['-s', `http://127.0.0.1:${f.server.ports.http}/metrics`])).stdout;
    const count = (metric: string, label: string) =>
      Number(new RegExp(`^${metric}\\{[^}]*${label}[^}]*\\} (\\d+)$`, 'm').exec(body)?.[1] ?? -1);
    assert.equal(count('petrel_spam_trap_hits_total', 'learned="true"'), 1, body.slice(0, 3000));
    assert.equal(count('petrel_spam_trap_hits_total', 'learned="false"'), 1);
    assert.equal(count('petrel_spam_outbound_total', 'result="clean"'), 1);
    assert.equal(count('petrel_spam_outbound_total', 'result="refused"'), 1);
  } finally {
    await f.stop();
  }
});
