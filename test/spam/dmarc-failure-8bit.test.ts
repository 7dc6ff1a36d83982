// A DMARC failure report (RFC 6591 / RFC 5965 ARF) quotes the original header section in its
// text/rfc822-headers part as the octets came: a raw UTF-8 Subject (RFC 6532, 8BITMIME) is quoted as
// sent, not read as latin1 and written back as UTF-8 ("Ãœberweisung" for "Überweisung").
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FakeMta } from '../helpers/fake-mta.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { awayFromHourBoundary, message, startSpamWorld } from './fixture.ts';

let f: OutboundFixture;
let owner: FakeMta;

before(async () => {
  f = await startSpamWorld({
    hosts: ['127.0.0.2'],
    zones: {
      'victim.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']], MX: [{ preference: 10, exchange: 'mx.victim.test' }] },
      'mx.victim.test': { A: ['127.0.0.2'] },
      '_dmarc.victim.test': { TXT: [['v=DMARC1; p=none; ruf=mailto:forensic@victim.test']] },
    },
    configure(c) {
      c.spam.dmarc_failure_reports.enabled = true;
      c.spam.dmarc_failure_reports.from = 'dmarc-reports@example.com';
    },
  });
  owner = await f.mta('127.0.0.2');
});
after(async () => {
  await f?.stop();
});

test('the quoted header section keeps the original octets of an 8-bit Subject', async () => {
  await awayFromHourBoundary();
  const raw = message('CEO <ceo@victim.test>', 'Überweisung heute');
  const c = await RawSmtp.open(f.server.ports.smtp, { localAddress: '127.0.0.9' });
  await c.expect(220);
  await c.expect(250, 'EHLO evil.example');
  await c.expect(250, 'MAIL FROM:<ceo@other.example> BODY=8BITMIME');
  await c.expect(250, 'RCPT TO:<alice@example.com>');
  await c.expect(354, 'DATA');
  c.write(Buffer.from(`${raw}.\r\n`, 'utf8'));
  await c.expect(250);
  await c.cmd('QUIT').catch(() => {});
  const [m] = await waitFor(() => owner.received().length > 0 && owner.received(), 15000, 'the failure report');
  const utf8 = Buffer.from('Subject: Überweisung heute', 'utf8');
  // The multipart still closes after the quoted section.
  assert.match(m.data.toString('latin1'), /Subject: [^\r]*heute\r\n(?:[^\r]*\r\n)*\r\n--=_petrel_[^\r]*--\r\n$/);
  assert.ok(
    m.data.includes(utf8),
    `original octets quoted; got: ${/Subject: [^\r]*heute/.exec(m.data.toString('utf8'))?.[0]}`,
  );
});
