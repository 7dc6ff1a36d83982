// DMARC failure reports (RFC 9991) over the wire: forged mail from 127.0.0.x reaches the MX listener; the
// author domain's record asks for failure reports (ruf=, fo=) in the test's own DNS; Petrel's queue
// delivers one ARF report per failure condition to the fake MTA the ruf address's MX names, with the
// original header section only, rate-limited, and never to an unconfirmed outside address.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseMessage } from '../../src/mime/parse.ts';
import type { FakeMta, ReceivedMessage } from '../helpers/fake-mta.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { awayFromHourBoundary, message, publishKey, send, sign, startSpamWorld, type TestKey } from './fixture.ts';

let f: OutboundFixture;
let key: TestKey;
let owner: FakeMta; // 127.0.0.2: the MX of victim.test and of its confirmed report vendor

before(async () => {
  f = await startSpamWorld({
    hosts: ['127.0.0.2'],
    zones: {
      'victim.test': {
        TXT: [['v=spf1 ip4:127.0.0.5 -all']],
        MX: [{ preference: 10, exchange: 'mx.victim.test' }],
      },
      'mx.victim.test': { A: ['127.0.0.2'] },
      // fo=1: any mechanism failing to give an aligned pass is reported; p=none so forgeries are delivered.
      '_dmarc.victim.test': {
        TXT: [['v=DMARC1; p=none; fo=1; ruf=mailto:forensic@victim.test,mailto:f@vendor.test,mailto:x@stranger.test']],
      },
      'victim.test._report._dmarc.vendor.test': { TXT: [['v=DMARC1']] },
      'vendor.test': { MX: [{ preference: 10, exchange: 'mx.victim.test' }] },
      'stranger.test': { MX: [{ preference: 10, exchange: 'mx.victim.test' }] },
      // Asks for failure reports only when DMARC fails outright (fo=0, the default).
      'strict.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']], MX: [{ preference: 10, exchange: 'mx.victim.test' }] },
      '_dmarc.strict.test': { TXT: [['v=DMARC1; p=none; ruf=mailto:forensic@strict.test']] },
    },
    configure(c) {
      c.spam.dmarc_failure_reports.enabled = true;
      c.spam.dmarc_failure_reports.from = 'dmarc-reports@example.com';
      c.spam.dmarc_failure_reports.max_per_hour = 2;
    },
  });
  key = publishKey(f, 'victim.test', 'sel1');
  owner = await f.mta('127.0.0.2');
});

after(async () => {
  await f?.stop();
});

/** The three parts of an ARF report: the text, the machine-readable fields, the original header section. */
function arf(m: ReceivedMessage) {
  const raw = m.data.toString('latin1');
  const root = parseMessage(m.data).root;
  assert.equal(`${root.type}/${root.subtype}`, 'multipart/report');
  assert.equal(root.params['report-type'], 'feedback-report');
  const [, report, headers] = root.children.map((p) => raw.slice(p.bodyStart, p.bodyEnd));
  assert.deepEqual(
    root.children.map((p) => `${p.type}/${p.subtype}`),
    ['text/plain', 'message/feedback-report', 'text/rfc822-headers'],
  );
  const fields = new Map(
    report
      .split('\r\n')
      .filter((l) => l.includes(': '))
      .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)] as [string, string]),
  );
  return { raw, fields, headers };
}

test('a forgery is reported to the confirmed ruf addresses in ARF, headers only; repeats and excess are dropped', async () => {
  await awayFromHourBoundary();
  const forged = await send(f, {
    ip: '127.0.0.9',
    helo: 'evil.example',
    from: 'ceo@other.example',
    raw: message('CEO <ceo@victim.test>', 'wire money', '', 'Secret body text.\r\n'),
  });
  assert.ok(forged.ok, forged.response);
  // One report, queued once for both confirmed addresses; the queue delivers it per recipient domain.
  const reports = await waitFor(
    () => {
      const r = owner.received();
      return r.length >= 2 && r;
    },
    15000,
    'the failure report at both addresses',
  );
  assert.deepEqual(
    reports.flatMap((m) => m.rcpts).sort(),
    ['f@vendor.test', 'forensic@victim.test'],
    'the unconfirmed outside address is left out',
  );
  const r = reports[0];
  assert.equal(r.from, 'dmarc-reports@example.com');
  const { fields, headers, raw } = arf(r);
  assert.equal(fields.get('Feedback-Type'), 'auth-failure');
  assert.equal(fields.get('Auth-Failure'), 'dmarc');
  assert.equal(fields.get('Identity-Alignment'), 'dkim,spf');
  assert.equal(fields.get('Source-IP'), '127.0.0.9');
  assert.equal(fields.get('Reported-Domain'), 'victim.test');
  assert.equal(fields.get('Original-Mail-From'), '<ceo@other.example>');
  assert.equal(fields.get('Delivery-Result'), 'delivered');
  assert.match(fields.get('Authentication-Results') ?? '', /dmarc=fail/);
  assert.match(headers, /^Subject: wire money$/m);
  assert.doesNotMatch(raw, /Secret body text/, 'never the body');

  // The same source again within the hour: the condition was reported already.
  await send(f, {
    ip: '127.0.0.9',
    helo: 'evil.example',
    from: 'ceo@other.example',
    raw: message('CEO <ceo@victim.test>', 'again'),
  });
  // Two more sources: only one fits in max_per_hour (2 per policy domain).
  for (const ip of ['127.0.0.10', '127.0.0.11'])
    await send(f, {
      ip,
      helo: 'evil.example',
      from: 'x@other.example',
      raw: message('X <x@victim.test>', `from ${ip}`),
    });
  await waitFor(() => owner.received().length >= 4, 15000, 'the second report');
  // A signed, aligned message (DKIM passes, SPF does not align) is reported under fo=1 too, but the hour's
  // budget is spent: what arrived is exactly the two reports.
  await send(f, {
    ip: '127.0.0.12',
    helo: 'mail.victim.test',
    from: 'bob@other.example',
    raw: await sign(message('Bob <bob@victim.test>', 'signed'), key),
  });
  await new Promise((res) => setTimeout(res, 500));
  const sources = [...new Set(owner.received().map((m) => arf(m).fields.get('Source-IP')))];
  assert.deepEqual(sources, ['127.0.0.9', '127.0.0.10']);
  assert.equal(owner.received().length, 4);
});

test('fo=0 (the default): a message that passes through one aligned mechanism is not reported', async () => {
  const before = owner.received().length;
  // SPF passes and aligns for strict.test (127.0.0.5); no DKIM: DMARC passes, nothing to report.
  const ok = await send(f, {
    ip: '127.0.0.5',
    helo: 'mail.strict.test',
    from: 'a@strict.test',
    raw: message('A <a@strict.test>', 'fine'),
  });
  assert.ok(ok.ok);
  // A forgery fails outright and is reported.
  await send(f, {
    ip: '127.0.0.20',
    helo: 'evil.example',
    from: 'a@other.example',
    raw: message('A <a@strict.test>', 'forged'),
  });
  const got = await waitFor(
    () => {
      const r = owner
        .received()
        .slice(before)
        .filter((m) => m.rcpts.includes('forensic@strict.test'));
      return r.length > 0 && r;
    },
    15000,
    'the strict.test report',
  );
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(owner.received().slice(before).length, 1, 'only the forgery');
  assert.equal(arf(got[0]).fields.get('Source-IP'), '127.0.0.20');
});
