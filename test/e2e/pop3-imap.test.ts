// POP3 and IMAP on one INBOX over the wire, on SQLite and PostgreSQL: POP3 UIDL is the IMAP identity
// (<UIDVALIDITY>.<UID>); a POP3 DELE + QUIT reaches an IDLE session as EXPUNGE and a QRESYNC session as
// VANISHED; a message delivered over SMTP reaches a running IDLE session at once and POP3 returns the
// very octets IMAP BODY[] does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RawImap } from '../helpers/imap-client.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { literalOf, PASS, startWorld, USER, unstuff } from './world.ts';

function message(subject: string, body = 'Hello.\r\n'): string {
  return (
    `From: Bob <bob@remote.test>\r\nTo: ${USER}\r\nSubject: ${subject}\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\n` +
    `Message-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}`
  );
}

async function imapLogin(f: OutboundFixture): Promise<RawImap> {
  const { c } = await RawImap.open(f.server.ports.imap);
  const r = await c.cmd(`LOGIN ${USER} ${PASS}`);
  assert.match(r.tagged, /OK/);
  return c;
}

async function pop3Login(f: OutboundFixture): Promise<Pop3Client> {
  const p = await Pop3Client.open(f.server.ports.pop3);
  assert.match(await p.cmd(`USER ${USER}`), /^\+OK/);
  assert.match(await p.cmd(`PASS ${PASS}`), /^\+OK/);
  return p;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  const skip = backend === 'postgres' && !pgTestUrl() ? PG_SKIP_REASON : undefined;
  const world = () => startWorld({ listeners: ['smtp', 'imap', 'pop3'], backend, pgUrl: pgTestUrl() });

  describe(`POP3 and IMAP together (${backend})`, { skip }, () => {
    test('UIDL is <UIDVALIDITY>.<UID>; DELE + QUIT: IDLE hears EXPUNGE within 1 s, QRESYNC gets VANISHED', {
      timeout: 60000,
    }, async () => {
      const f = await world();
      const clients: { close(): void }[] = [];
      try {
        const acc = (await f.app.store.getAccount(USER))!;
        for (const s of ['zero', 'one', 'two', 'three'])
          await f.app.mail.deliver(Buffer.from(message(s)), [{ accountId: acc.id }]);
        // Expunge the first so sequence numbers and UIDs differ (UIDs 2, 3, 4 at 1, 2, 3).
        const idle = await imapLogin(f);
        clients.push(idle);
        await idle.cmd('SELECT INBOX');
        await idle.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
        assert.deepEqual((await idle.cmd('EXPUNGE')).lines, ['* 1 EXPUNGE']);

        const qr = await imapLogin(f);
        clients.push(qr);
        assert.deepEqual((await qr.cmd('ENABLE QRESYNC')).lines, ['* ENABLED QRESYNC']);
        const sel = await qr.cmd('SELECT INBOX');
        const uidValidity = /UIDVALIDITY (\d+)/.exec(sel.raw)![1];
        const uids = (await qr.cmd('FETCH 1:* (UID)')).lines.map((l) => Number(/UID (\d+)/.exec(l)![1]));
        assert.deepEqual(uids, [2, 3, 4]);

        idle.send('i1 IDLE\r\n');
        assert.equal(await idle.line(), '+ idling');

        const pop = await pop3Login(f);
        clients.push({ close: () => pop.destroy() });
        assert.match(await pop.cmd('UIDL'), /^\+OK/);
        assert.deepEqual(
          await pop.lines(),
          uids.map((uid, i) => `${i + 1} ${uidValidity}.${uid}`),
        );
        assert.equal(await pop.cmd('UIDL 2'), `+OK 2 ${uidValidity}.${uids[1]}`);
        assert.match(await pop.cmd('DELE 2'), /^\+OK/);
        // DELE only marks: nothing is announced before QUIT.
        assert.match(await qr.cmd('NOOP').then((r) => r.raw), /^t\d+ OK/);
        assert.match(await pop.cmd('QUIT'), /^\+OK/);
        assert.equal(await idle.line(10000), '* 2 EXPUNGE');
        idle.send('DONE\r\n');
        assert.match((await idle.until('i1')).tagged, /^i1 OK/);

        // QRESYNC (RFC 7162 section 3.2.10): VANISHED with the UID, never EXPUNGE.
        assert.deepEqual((await qr.cmd('NOOP')).lines, [`* VANISHED ${uids[1]}`]);
        assert.deepEqual((await qr.cmd('UID SEARCH ALL')).lines, [`* SEARCH ${uids[0]} ${uids[2]}`]);
        assert.deepEqual((await idle.cmd('UID SEARCH ALL')).lines, [`* SEARCH ${uids[0]} ${uids[2]}`]);
        // And POP3 sees the same maildrop next time.
        const again = await pop3Login(f);
        clients.push({ close: () => again.destroy() });
        assert.match(await again.cmd('UIDL'), /^\+OK/);
        assert.deepEqual(await again.lines(), [`1 ${uidValidity}.${uids[0]}`, `2 ${uidValidity}.${uids[2]}`]);
        assert.match(await again.cmd('QUIT'), /^\+OK/);
      } finally {
        for (const c of clients) c.close();
        await f.stop();
      }
    });

    // The latency itself is measured in bench/idle.ts, not bounded here.
    test('an SMTP delivery shows in IDLE; POP3 RETR = IMAP BODY[] octets', {
      timeout: 60000,
    }, async () => {
      const f = await world();
      const clients: { close(): void }[] = [];
      try {
        const idle = await imapLogin(f);
        clients.push(idle);
        const sel = await idle.cmd('SELECT INBOX');
        const uidValidity = /UIDVALIDITY (\d+)/.exec(sel.raw)![1];
        idle.send('i1 IDLE\r\n');
        assert.equal(await idle.line(), '+ idling');

        const raw = message('over smtp', 'Grüße, naïve café.\r\n.leading dot\r\n..two\r\n.\r\n\r\nend\r\n');
        const smtp = await RawSmtp.open(f.server.ports.smtp);
        clients.push(smtp);
        await smtp.expect(220);
        await smtp.expect(250, 'EHLO mx.remote.test');
        await smtp.expect(250, 'MAIL FROM:<bob@remote.test> BODY=8BITMIME');
        await smtp.expect(250, `RCPT TO:<${USER}>`);
        await smtp.expect(354, 'DATA');
        const stuffed = raw.replace(/^\./gm, '..');
        smtp.write(`${stuffed}.\r\n`);
        // The EXISTS may come before or after the 250: both follow the commit.
        assert.equal(await idle.line(10000), '* 1 EXISTS');
        await smtp.expect(250, undefined, /2\.0\.0 OK: queued as/);

        // POP3 at once: the new message is there, its UIDL the IMAP identity.
        const pop = await pop3Login(f);
        clients.push({ close: () => pop.destroy() });
        assert.match(await pop.cmd('STAT'), /^\+OK 1 \d+$/);
        const uidl = (await pop.cmd('UIDL 1')).split(' ')[2];
        assert.match(await pop.cmd('RETR 1'), /^\+OK/);
        const viaPop = unstuff(await pop.untilTerminator());
        assert.match(await pop.cmd('QUIT'), /^\+OK/);

        assert.equal(await idle.line(), '* 1 RECENT');
        idle.send('DONE\r\n');
        assert.match((await idle.until('i1')).tagged, /^i1 OK/);
        const fetched = await idle.cmd('UID FETCH 1:* (UID BODY.PEEK[])');
        assert.equal(fetched.lines.length, 1);
        const uid = /UID (\d+)/.exec(fetched.lines[0])![1];
        assert.equal(uidl, `${uidValidity}.${uid}`);
        const viaImap = literalOf(fetched.lines[0]);
        assert.ok(viaPop.equals(viaImap), 'POP3 RETR and IMAP BODY[] give the same octets');
        // Those octets: our trace fields, then the message as sent.
        assert.ok(viaImap.toString().endsWith(raw), 'the message as sent after the trace fields');
        assert.match(viaImap.toString(), /^Delivered-To: alice@example\.com\r\nReturn-Path: <bob@remote\.test>\r\n/);
      } finally {
        for (const c of clients) c.close();
        await f.stop();
      }
    });
  });
}
