// Outbound to a real MTA: a private Postfix on 127.0.0.2 found through MX records of the test's DNS
// server. The message arrives over STARTTLS, byte for byte, with DKIM signatures (rsa-sha256 and
// ed25519-sha256) that mailauth's verifier checks against the keys published in that DNS server.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { selfSignedCert } from '../helpers/certs.ts';
import { commonPort } from '../helpers/fake-mta.ts';
import { startOutbound, waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { type Postfix, startPostfix } from '../helpers/postfix.ts';

const pf = peer('postfix', 'postfix');
const ZONES = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx.postfix.test' }] },
  'mx.postfix.test': { A: ['127.0.0.2'] },
};
const USERS = ['bob@remote.test', 'carol@remote.test', 'dan@remote.test'];

describe('outbound to Postfix', { skip: pf.skip }, () => {
  let postfix: Postfix;
  let port: number;
  before(async () => {
    port = await commonPort(['127.0.0.2']);
    postfix = await startPostfix({
      host: '127.0.0.2',
      port,
      users: USERS,
      tls: await selfSignedCert(['mx.postfix.test']),
    });
  });
  after(() => postfix?.stop());

  for (const backend of ['sqlite', 'postgres'] as const) {
    const skip = backend === 'postgres' && !pgTestUrl() ? PG_SKIP_REASON : undefined;
    test(`${backend}: delivered over STARTTLS, byte for byte, DKIM signatures verify`, { skip }, async () => {
      const f = await startOutbound({ zones: ZONES, port, backend, pgUrl: pgTestUrl() });
      try {
        for (const [selector, algorithm] of [
          ['rsa1', 'rsa'],
          ['ed1', 'ed25519'],
        ] as const) {
          const k = await f.app.dkim.generate('example.com', { algorithm, selector });
          // The record as a zone would publish it: 255-octet character-strings.
          const chunks = k.record.match(/.{1,255}/g)!;
          f.dns.set(`${selector}._domainkey.example.com`, { TXT: [chunks] });
        }
        const to = backend === 'sqlite' ? 'bob@remote.test' : 'carol@remote.test';
        const body = 'Grüße aus Petrel.\r\n.A line that starts with a dot.\r\n\r\nLast line.\r\n';
        const raw = Buffer.from(
          `From: Alice <alice@example.com>\r\nTo: <${to}>\r\nSubject: to postfix (${backend})\r\n` +
            'Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <pf-1@example.com>\r\nMIME-Version: 1.0\r\n' +
            `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}`,
        );
        await f.app.outbound.enqueue({
          from: 'alice@example.com',
          recipients: [{ address: to }],
          raw,
          bodyType: '8BITMIME',
        });
        const [stored] = await waitFor(
          () => postfix.mailbox(to).length > 0 && postfix.mailbox(to),
          20000,
          'Postfix delivery',
        );
        // Postfix stores with LF line ends and adds Return-Path, Delivered-To and Received in front.
        const crlf = Buffer.from(stored.replace(/\n/g, '\r\n'));
        assert.ok(crlf.subarray(crlf.length - raw.length).equals(raw), 'the message arrives unchanged');
        assert.match(stored, /^Return-Path: <alice@example\.com>\n/);
        assert.match(stored, /Received: from mx\.test\.petrel .*\n\t\(using TLSv1\.[23] with cipher /);
        const sigs = stored.match(/^DKIM-Signature:/gm) ?? [];
        assert.equal(sigs.length, 2);
        // The verifier is mailauth's, resolving keys from the test's DNS server with node's own resolver.
        const dns = new Resolver();
        dns.setServers([f.dns.address]);
        const res = await dkimVerify(crlf, {
          resolver: async (name: string, type: string) => {
            if (type !== 'TXT') throw Object.assign(new Error('only TXT here'), { code: 'ENOTFOUND' });
            return dns.resolveTxt(name);
          },
        });
        assert.deepEqual(
          Object.fromEntries(res.results.map((r) => [r.algo, `${r.status.result} d=${r.signingDomain}`])),
          { 'rsa-sha256': 'pass d=example.com', 'ed25519-sha256': 'pass d=example.com' },
        );
        await waitFor(async () => (await f.app.store.queue.list()).length === 0, 5000, 'an empty queue');
        assert.deepEqual(await f.inbox('alice@example.com'), [], 'Postfix has DSN: no relayed report from us');
      } finally {
        await f.stop();
      }
    });
  }

  test('several messages to one destination share one connection (RSET between)', async () => {
    const before = (postfix.log().match(/ connect from /g) ?? []).length;
    const f = await startOutbound({
      zones: ZONES,
      port,
      // Queued before the runner starts, so one lease takes them all.
      async beforeServe(app) {
        for (const [i, to] of ['bob@remote.test', 'carol@remote.test', 'dan@remote.test'].entries())
          await app.outbound.enqueue({
            from: 'alice@example.com',
            recipients: [{ address: to }],
            raw: Buffer.from(`From: alice@example.com\r\nSubject: reuse ${i}\r\n\r\nbody ${i}\r\n`),
          });
      },
    });
    try {
      await waitFor(
        () => USERS.every((u) => postfix.mailbox(u).some((m) => m.includes('Subject: reuse'))),
        20000,
        'three deliveries',
      );
      const disconnect = await waitFor(
        () => {
          const lines = postfix.log().split('\n');
          return lines.slice(-200).find((l) => / disconnect from .* mail=3 /.test(l));
        },
        10000,
        'the session summary',
      );
      // Postfix's per-session command counts: one session, three transactions, RSET between them.
      assert.match(disconnect, / ehlo=2 starttls=1 mail=3 rcpt=3 bdat=3 rset=2 quit=1 /);
      const after = (postfix.log().match(/ connect from /g) ?? []).length;
      assert.equal(after - before, 1, 'one connection');
    } finally {
      await f.stop();
    }
  });
});
