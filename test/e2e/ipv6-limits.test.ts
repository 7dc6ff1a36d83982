// The per-IP limits count an IPv6 client by its /64 (clientKey), over real sockets from several addresses
// of one /64: the SMTP listener's connections per IP, the HTTP listener's connections and requests per IP,
// and the spam filter's MAIL FROMs per IP. The host's loopback has only ::1, so the tests run again in a
// network namespace of their own whose loopback holds two /64s (test/helpers/netns.ts).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startHttp } from '../../src/http/server.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { IN_NETNS, netnsSkip, OTHER64, runInNetns, SAME64, SERVER6 } from '../helpers/netns.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { startSmtpServer } from '../smtp/fixtures.ts';
import { awayFromHourBoundary, startSpamWorld } from '../spam/fixture.ts';

if (!IN_NETNS) {
  const skip = netnsSkip();
  test('per-IP limits count an IPv6 client by its /64 (in a network namespace)', { skip, timeout: 120_000 }, () => {
    const r = runInNetns(import.meta.filename, 110_000);
    assert.equal(r.status, 0, r.output);
  });
} else {
  /** A greeting from `from`: its code (421 when the listener refused the connection). */
  const greet = async (port: number, from: string) => {
    const c = await RawSmtp.open(port, { host: SERVER6, localAddress: from });
    return { c, code: (await c.read()).code };
  };

  test('SMTP: connections per IP (smtp.max_connections_per_ip) count the /64', { timeout: 30_000 }, async () => {
    const t = await startSmtpServer({
      configure: (c) => {
        c.listeners.smtp.bind = SERVER6;
        c.smtp.max_connections_per_ip = 2;
      },
    });
    try {
      const a = await greet(t.ports.smtp, SAME64[0]);
      const b = await greet(t.ports.smtp, SAME64[1]);
      assert.deepEqual([a.code, b.code], [220, 220]);
      // A third address of the same /64 is the same client.
      const c = await greet(t.ports.smtp, SAME64[2]);
      assert.equal(c.code, 421);
      await c.c.closedByServer();
      const other = await greet(t.ports.smtp, OTHER64);
      assert.equal(other.code, 220, 'another /64 is another client');
      for (const x of [a, b, other]) x.c.close();
    } finally {
      await t.stop();
    }
  });

  test('HTTP: requests per minute and connections per IP count the /64', { timeout: 30_000 }, async () => {
    const l = await startHttp(
      {
        host: SERVER6,
        port: 0,
        limits: { maxConnections: 100, maxConnectionsPerIp: 2, requestsPerMinutePerIp: 3 },
      },
      { ready: async () => true, log: silentLogger },
    );
    const get = (from: string) =>
      new Promise<number>((resolve, reject) => {
        const r = request(
          { host: SERVER6, port: l.port, path: '/healthz', localAddress: from, agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        r.on('error', reject);
        r.end();
      });
    try {
      const statuses = [];
      for (const from of SAME64) statuses.push(await get(from));
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.equal(await get(OTHER64), 200);

      const { connect } = await import('node:net');
      const open = (from: string) =>
        new Promise<import('node:net').Socket>((resolve) => {
          const s = connect({ host: SERVER6, port: l.port, localAddress: from }, () => resolve(s));
          s.on('error', () => {});
        });
      const closed = (s: import('node:net').Socket) =>
        new Promise<boolean>((resolve) => {
          if (s.destroyed) return resolve(true);
          s.once('close', () => resolve(true));
          setTimeout(() => resolve(false), 1000).unref();
        });
      const a = await open(SAME64[0]);
      const b = await open(SAME64[1]);
      const c = await open(SAME64[2]);
      assert.equal(await closed(c), true, 'a third connection from the same /64 is refused');
      const d = await open(OTHER64);
      assert.equal(await closed(d), false, 'another /64 is not');
      for (const s of [a, b, d]) s.destroy();
    } finally {
      await l.close(0);
    }
  });

  test('spam.rate_limit.per_ip counts the MAIL FROMs of the /64 (451 4.7.1)', { timeout: 60_000 }, async () => {
    const f = await startSpamWorld({
      configure(c) {
        c.listeners.smtp.bind = SERVER6;
        c.spam.rate_limit.per_ip = 2;
      },
    });
    try {
      await awayFromHourBoundary(); // the window (1h) must not start over halfway
      const mailFrom = async (from: string) => {
        const c = await RawSmtp.open(f.server.ports.smtp, { host: SERVER6, localAddress: from });
        await c.expect(220);
        await c.expect(250, 'EHLO mail.flood.test');
        const r = await c.cmd('MAIL FROM:<flood@flood.test>');
        c.close();
        return r.raw;
      };
      assert.match(await mailFrom(SAME64[0]), /^250/);
      assert.match(await mailFrom(SAME64[1]), /^250/);
      assert.match(await mailFrom(SAME64[2]), /^451 4\.7\.1 /);
      assert.match(await mailFrom(OTHER64), /^250/);
    } finally {
      await f.stop();
    }
  });
}
