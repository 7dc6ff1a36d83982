// The log under hostile input: what a client sends cheaply and over and over (a command, a connection)
// must not write a line each time, or one client fills the disk at the default info level. Real clients
// over sockets to a whole server logging JSON into the test.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import { RawImap } from '../helpers/imap-client.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { startTestServer } from '../helpers/server.ts';

interface Line {
  msg: string;
  clientId?: Record<string, string>;
  listener?: string;
  ip?: string;
  reason?: string;
  repeats?: number;
}

async function server(configure?: (c: Config) => void) {
  const log = captureLog<Line>();
  const s = await startTestServer({ logTo: log.stream, configure });
  return { s, log };
}

/** Connects from `localAddress` and resolves with what the server sent before it closed (or 2 s passed). */
function knock(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve) => {
    const so = connect({ port, host: '127.0.0.1', localAddress });
    let got = '';
    const done = () => {
      clearTimeout(timer);
      so.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, 2000);
    so.on('data', (d) => {
      got += d;
      if (got.includes('\r\n')) done();
    });
    so.on('error', done);
    so.on('close', done);
  });
}

test('IMAP ID is logged once per session, however often the client sends it', async () => {
  const { s, log } = await server();
  try {
    const { c } = await RawImap.open(s.ports.imap);
    // A pipeline of 2,000 IDs: each is answered, and only the first is logged (as Dovecot logs the ID once).
    const n = 2000;
    let batch = '';
    for (let i = 0; i < n; i++) batch += `i${i} ID ("name" "client ${i}")\r\n`;
    c.socket.write(batch);
    const last = await c.until(`i${n - 1}`, 30000);
    assert.match(last.tagged, /^i1999 OK /);
    assert.equal(last.lines.filter((l) => l === '* ID ("name" "Petrel" "vendor" "Petrel")').length, n);
    const ids = log.lines.filter((l) => l.msg === 'client id');
    assert.equal(ids.length, 1, `${ids.length} "client id" lines`);
    assert.deepEqual(ids[0].clientId, { name: 'client 0' });
    c.close();
  } finally {
    await s.stop();
  }
});

test('connections refused by a limit: the first is logged, the rest counted in a summary line', async () => {
  const { s, log } = await server((c) => {
    c.listeners.smtp.enabled = true;
    c.security.connection_rate_per_ip = 20;
    c.listeners.http.enabled = true;
    c.listeners.http.max_connections_per_ip = 2;
  });
  let stopped = false;
  const held: Socket[] = [];
  try {
    // SMTP: past 20 connections a minute from one address, each new one is refused with 421.
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const greeting = await knock(s.ports.smtp, '127.0.0.61');
      if (greeting.startsWith('421')) refused++;
      else assert.match(greeting, /^220 /);
    }
    assert.equal(refused, 280);
    // HTTP: two connections held open, then 200 more from the same address, each closed at once.
    for (let i = 0; i < 2; i++)
      held.push(
        await new Promise<Socket>((resolve) => {
          const so = connect({ port: s.ports.http, host: '127.0.0.1', localAddress: '127.0.0.62' }, () => resolve(so));
        }),
      );
    for (let i = 0; i < 200; i++) assert.equal(await knock(s.ports.http, '127.0.0.62'), '');

    const refusals = (listener: string) =>
      log.lines.filter((l) => l.msg === 'connection refused by limit' && l.listener === listener);
    assert.equal(refusals('smtp').length, 1, `${refusals('smtp').length} lines`);
    assert.deepEqual(
      { ip: refusals('smtp')[0].ip, reason: refusals('smtp')[0].reason },
      { ip: '127.0.0.61', reason: 'rate' },
    );
    assert.equal(refusals('http').length, 1, `${refusals('http').length} lines`);
    // At shutdown (and once a minute while it goes on) the refusals not logged one by one are told as a count.
    for (const so of held) so.destroy();
    await s.stop();
    stopped = true;
    const total = (listener: string) => refusals(listener).reduce((n, l) => n + (l.repeats ?? 1), 0);
    assert.equal(refusals('smtp').length, 2, JSON.stringify(refusals('smtp')));
    assert.equal(total('smtp'), 280);
    assert.equal(total('http'), 200);
  } finally {
    for (const so of held) so.destroy();
    if (!stopped) await s.stop();
  }
});

test('sign-ins refused while locked out: the first is logged, the rest counted in a summary line', async () => {
  const { s, log } = await server((c) => {
    c.security.failure_delay_ms = 1;
  });
  let stopped = false;
  try {
    // Ten failures lock 127.0.0.71 out; each AUTH after them is refused unchecked (454), twenty a session.
    const plain = Buffer.from('\0bob@example.com\0wrong').toString('base64');
    const auths = `EHLO client.test\r\n${`AUTH PLAIN ${plain}\r\n`.repeat(30)}`;
    let locked = 0;
    for (let i = 0; i < 30; i++) {
      const got = await new Promise<string>((resolve) => {
        const so = connect({ port: s.ports.submission, host: '127.0.0.1', localAddress: '127.0.0.71' });
        let out = '';
        so.on('data', (d) => (out += d));
        so.on('error', () => resolve(out));
        so.on('close', () => resolve(out));
        so.on('connect', () => so.write(auths));
      });
      locked += got.split('\r\n').filter((l) => l.startsWith('454 ')).length;
    }
    // IMAP: a locked-out LOGIN is answered NO [UNAVAILABLE] and the session ends.
    for (let i = 0; i < 30; i++) {
      const { c } = await RawImap.open(s.ports.imap, { localAddress: '127.0.0.71' });
      assert.match((await c.cmd('LOGIN bob@example.com wrong')).tagged, /NO \[UNAVAILABLE\]/);
      locked++;
      c.close();
    }
    assert.ok(locked > 500, `${locked} refused`);
    // The web sign-in (/account) shares the lockout: each refusal a 429, one line for them all.
    let web = 0;
    for (let i = 0; i < 30; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ username: 'bob@example.com', password: 'wrong' });
        const req = request(
          {
            host: '127.0.0.1',
            port: s.ports.http,
            localAddress: '127.0.0.71',
            method: 'POST',
            path: '/account/login',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 429);
      web++;
    }
    const webRefusals = () =>
      log.lines.filter((l) => l.msg === 'web sign-in refused: locked out' && l.ip === '127.0.0.71');
    assert.equal(webRefusals().length, 1, `${webRefusals().length} web lines`);
    const refusals = () => log.lines.filter((l) => l.msg === 'sign-in refused: locked out' && l.ip === '127.0.0.71');
    // One line for each protocol the client tried (with its IP, the user name and why).
    assert.equal(refusals().length, 2, `${refusals().length} lines`);
    await s.stop();
    stopped = true;
    assert.equal(
      refusals().reduce((n, l) => n + (l.repeats ?? 1), 0),
      locked,
    );
    assert.equal(
      webRefusals().reduce((n, l) => n + (l.repeats ?? 1), 0),
      web,
    );
  } finally {
    if (!stopped) await s.stop();
  }
});
