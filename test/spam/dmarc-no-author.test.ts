// DMARC for a message with no author domain (RFC 7489 section 6.6.1, RFC 9989 section 5.3.1) over SMTP,
// with the test's own DNS: no From field, a group with no members, an address without a domain, an empty
// angle address. Our Authentication-Results says dmarc=none with why (RFC 7489 section 11.2: "no aligned
// identifier could be extracted") and the verdict carries DMARC_NO_AUTHOR_DOMAIN and HDR_MISSING_FROM; with
// spam.auth.no_author_domain = "reject" the message is refused at DATA.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { transaction } from '../helpers/smtp-client.ts';
import { authResults, mailbox, newestVerdict, startSpamWorld, USER } from './fixture.ts';

/** The client other.test's SPF record allows (SPF passes: only DMARC is missing). */
const IP = '127.0.0.7';
const ZONES = { 'other.test': { TXT: [['v=spf1 ip4:127.0.0.7 -all']] } };

let n = 0;
/** A message whose From field is `from` (none when null). */
function raw(from: string | null, subject: string): string {
  return (
    `${from === null ? '' : `From: ${from}\r\n`}To: ${USER}\r\nSubject: ${subject}\r\n` +
    `Date: ${new Date().toUTCString()}\r\nMessage-ID: <no-author-${subject.replace(/\W/g, '')}@other.test>\r\n\r\nHello.\r\n`
  );
}

async function deliver(f: OutboundFixture, from: string | null) {
  const subject = `no author ${++n}`;
  const r = await transaction(f.server.ports.smtp, {
    ip: IP,
    helo: 'mail.other.test',
    from: 'a@other.test',
    to: [USER],
    data: raw(from, subject),
  });
  return { r, subject };
}

const FROMS: [string, string | null][] = [
  ['no From field', null],
  ['a group with no members', 'undisclosed-recipients:;'],
  ['an address without a domain', 'bob'],
  ['an empty angle address', '<>'],
];

describe('no author domain, scored', () => {
  let f: OutboundFixture;
  before(async () => {
    f = await startSpamWorld({ zones: ZONES });
  });
  after(() => f?.stop());

  for (const [what, from] of FROMS)
    test(`${what}: dmarc=none in Authentication-Results, DMARC_NO_AUTHOR_DOMAIN`, async () => {
      const { r, subject } = await deliver(f, from);
      assert.equal(r.code, 250, r.raw);
      const stored = [...(await mailbox(f, USER, 'INBOX')), ...(await mailbox(f, USER, 'Junk'))].find((m) =>
        m.includes(`Subject: ${subject}\r\n`),
      );
      assert.ok(stored, 'stored');
      const [ar] = authResults(stored);
      assert.match(ar, /spf=pass/, ar);
      assert.match(ar, /; dmarc=none \(no author domain in From\)/, ar);
      const { symbols } = await newestVerdict(f, USER);
      assert.equal(symbols.DMARC_NO_AUTHOR_DOMAIN, 1, JSON.stringify(symbols));
      assert.equal(symbols.DMARC_NONE, undefined, 'one DMARC symbol');
      // The header anomaly is scored too, an address without a domain included (it was taken for an author).
      assert.equal(symbols.HDR_MISSING_FROM, 3, JSON.stringify(symbols));
    });

  test('a From with a domain is not affected', async () => {
    const { r } = await deliver(f, 'a@other.test');
    assert.equal(r.code, 250, r.raw);
    const { symbols } = await newestVerdict(f, USER);
    assert.equal(symbols.DMARC_NO_AUTHOR_DOMAIN, undefined, JSON.stringify(symbols));
    assert.equal(symbols.DMARC_NONE, 0);
    assert.equal(symbols.HDR_MISSING_FROM, undefined);
  });
});

describe('no author domain, refused when configured', () => {
  let f: OutboundFixture;
  before(async () => {
    f = await startSpamWorld({
      zones: ZONES,
      configure(c) {
        c.spam.auth.no_author_domain = 'reject';
      },
    });
  });
  after(() => f?.stop());

  for (const [what, from] of FROMS)
    test(`${what}: 550 5.7.1`, async () => {
      const { r } = await deliver(f, from);
      assert.equal(r.code, 550, r.raw);
      assert.match(r.raw, /550 5\.7\.1 .*no author domain/i);
    });

  test('a From with a domain is delivered', async () => {
    const { r } = await deliver(f, 'a@other.test');
    assert.equal(r.code, 250, r.raw);
  });
});
