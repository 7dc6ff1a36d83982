// The antivirus counter on /metrics (petrel.antivirus.scans): a real clamd behind a relay of the test's own
// that can hang up (scanner down); a clean message, an infected one and one sent while the scanner is down
// are each counted once by result, read by curl as a Prometheus scraper would. Its own file: the
// telemetry SDK is set up once per process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { type Clamd, MARKER, startClamd } from '../helpers/clamd.ts';
import { peer } from '../helpers/peers.ts';
import { message, send, startSpamWorld } from './fixture.ts';

const run = promisify(execFile);
const clamdBin = peer('clamd', 'clamav-daemon');
const curl = peer('curl', 'curl');

test('clean, infected and unscanned messages are counted by result', {
  skip: clamdBin.skip ?? curl.skip,
  timeout: 60000,
}, async () => {
  const clamd: Clamd = await startClamd(clamdBin.path!);
  let down = false;
  const sockets: Socket[] = [];
  const relay = createServer((s) => {
    sockets.push(s);
    if (down) return s.destroy();
    const c = connect({ path: clamd.socket });
    sockets.push(c);
    s.pipe(c).pipe(s);
    c.on('error', () => s.destroy());
    s.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const f = await startSpamWorld({
    configure(c) {
      c.metrics.enabled = true;
      c.listeners.http.enabled = true;
      c.spam.antivirus.enabled = true;
      c.spam.antivirus.clamd = `127.0.0.1:${(relay.address() as { port: number }).port}`;
    },
  });
  try {
    const from = 'a@outside.test';
    const deliver = (subject: string, body: string) =>
      send(f, { ip: '127.0.0.46', helo: 'mail.outside.test', from, raw: message(from, subject, '', body) });
    assert.ok((await deliver('clean', 'nothing to see\r\n')).ok);
    assert.equal((await deliver('infected', `${MARKER}\r\n`)).code, 550);
    down = true;
    assert.equal((await deliver('unscanned', 'nothing to see\r\n')).code, 451);

    const body = (await run(curl.path!, ['-s', `http://127.0.0.1:${f.server.ports.http}/metrics`])).stdout;
    const count = (result: string) =>
      Number(
        new RegExp(`^petrel_antivirus_scans_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)$`, 'm').exec(body)?.[1] ??
          -1,
      );
    assert.equal(count('clean'), 1, body.slice(0, 2000));
    assert.equal(count('infected'), 1);
    assert.equal(count('error'), 1);
    assert.match(body, /petrel_antivirus_scans_total\{[^}]*source="inbound"/);
  } finally {
    await f.stop();
    for (const s of sockets) s.destroy();
    relay.close();
    await clamd.stop();
  }
});
