// DMARC aggregate reports (RFC 9990) over the wire: mail from 127.0.0.x reaches the MX listener, the
// senders' DMARC records (with rua=) in the test's own DNS; after the period, Petrel's queue delivers each
// policy domain's report to the fake MTAs the report addresses' MX records name. The gzipped XML is
// validated with xmllint against the RFC's schema and its counts, results and dispositions read back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseMessage } from '../../src/mime/parse.ts';
import type { FakeMta, ReceivedMessage } from '../helpers/fake-mta.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { message, publishKey, send, sign, startSpamWorld, type TestKey, verifyAtReceiver } from './fixture.ts';

const xmllint = peer('xmllint', 'libxml2-utils');
const SCHEMA = join(import.meta.dirname, '../fixtures/dmarc-2.0.xsd');

let f: OutboundFixture;
let key: TestKey;
let owner: FakeMta; // 127.0.0.2: sender.test's own MX (its reports stay inside its organisation)
let vendor: FakeMta; // 127.0.0.3: reports.test, a report processor that confirmed it takes sender.test's reports
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'petrel-dmarc-'));
  f = await startSpamWorld({
    hosts: ['127.0.0.2', '127.0.0.3'],
    zones: {
      'sender.test': {
        TXT: [['v=spf1 ip4:127.0.0.5 -all']],
        MX: [{ preference: 10, exchange: 'mx.sender.test' }],
      },
      'mx.sender.test': { A: ['127.0.0.2'] },
      // Three destinations: inside the organisation, confirmed outside it (with a size limit), unconfirmed.
      '_dmarc.sender.test': {
        TXT: [
          [
            'v=DMARC1; p=reject; sp=quarantine; adkim=r; ' +
              'rua=mailto:dmarc@sender.test,mailto:agg@reports.test!200k,mailto:x@unconfirmed.test',
          ],
        ],
      },
      'sender.test._report._dmarc.reports.test': { TXT: [['v=DMARC1']] },
      'reports.test': { MX: [{ preference: 10, exchange: 'mx.reports.test' }] },
      'unconfirmed.test': { MX: [{ preference: 10, exchange: 'mx.reports.test' }] },
      'mx.reports.test': { A: ['127.0.0.3'] },
      // A subdomain without a record of its own: its mail is reported in sender.test's report.
      'news.sender.test': { TXT: [['v=spf1 ip4:127.0.0.6 -all']] },
      // Only scored, never enforced here (spam.auth.dmarc_no_enforce): reported as local_policy.
      'lists.test': { TXT: [['v=spf1 -all']] },
      '_dmarc.lists.test': { TXT: [['v=DMARC1; p=reject; rua=mailto:dmarc@lists.test']] },
      'lists.test._report._dmarc.lists.test': { TXT: [['v=DMARC1']] },
      // A record that asks for no reports.
      'quiet.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']] },
      '_dmarc.quiet.test': { TXT: [['v=DMARC1; p=none']] },
    },
    configure(c) {
      c.spam.dmarc_reports.enabled = true;
      c.spam.dmarc_reports.org_name = 'Petrel Test Org';
      c.spam.dmarc_reports.from = 'dmarc-reports@example.com';
      c.spam.auth.dmarc_no_enforce = ['lists.test'];
    },
  });
  f.dns.set('lists.test', { TXT: [['v=spf1 -all']], MX: [{ preference: 10, exchange: 'mx.reports.test' }] });
  key = publishKey(f, 'sender.test', 'sel1');
  // Our own domain signs the reports; its key and DMARC record are published for the receivers' check.
  const ours = await f.app.dkim.generate('example.com', { algorithm: 'rsa', selector: 'rep' });
  f.dns.set('rep._domainkey.example.com', { TXT: [ours.record.match(/.{1,255}/g)!] });
  f.dns.set('_dmarc.example.com', { TXT: [['v=DMARC1; p=reject']] });
  owner = await f.mta('127.0.0.2');
  vendor = await f.mta('127.0.0.3');
});

after(async () => {
  await f?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The report's parts: the message, the subject, the attachment's file name and its XML. */
function readReport(m: ReceivedMessage) {
  const parsed = parseMessage(m.data);
  const subject = /^Subject: (.*)$/m.exec(m.data.toString('latin1'))?.[1] ?? '';
  const gz = parsed.root.children.find((p) => p.type === 'application' && p.subtype === 'gzip');
  assert.ok(gz, 'an application/gzip part');
  const fileName = gz.disposition?.params.filename ?? '';
  const b64 = m.data.subarray(gz.bodyStart, gz.bodyEnd).toString('latin1');
  const xml = gunzipSync(Buffer.from(b64, 'base64')).toString('utf8');
  return { subject, fileName, xml };
}

/** Validates the XML against RFC 9990's schema with xmllint, then evaluates XPath expressions on it. */
function xpath(xml: string, expr: string): string {
  const file = join(scratch, `r${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync(xmllint.path!, ['--xpath', expr, file], { encoding: 'utf8' });
  return r.stdout.trim();
}

function validate(xml: string): void {
  const file = join(scratch, 'validate.xml');
  writeFileSync(file, xml);
  const r = spawnSync(xmllint.path!, ['--noout', '--schema', SCHEMA, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `schema validation failed: ${r.stderr}`);
}

/** The XPath of an element by local names (the report is in the dmarc-2.0 namespace). */
const p = (...names: string[]) => names.map((n) => `/*[local-name()='${n}']`).join('');

test('DMARC aggregate reports: counted per outcome, sent after the period to confirmed rua addresses, valid per RFC 9990', {
  skip: xmllint.skip,
}, async () => {
  // sender.test: two aligned passes (DKIM and SPF) from 127.0.0.5, one forgery from 127.0.0.9 (refused
  // under p=reject), one subdomain message failing under sp=quarantine (delivered to Junk).
  const good = async (n: number) =>
    send(f, {
      ip: '127.0.0.5',
      helo: 'mail.sender.test',
      from: 'bob@sender.test',
      raw: await sign(message('Bob <bob@sender.test>', `good ${n}`), key),
    });
  assert.ok((await good(1)).ok);
  assert.ok((await good(2)).ok);
  const forged = await send(f, {
    ip: '127.0.0.9',
    helo: 'evil.example',
    from: 'ceo@sender.test',
    raw: message('CEO <ceo@sender.test>', 'wire money'),
  });
  assert.equal(forged.code, 550, forged.response);
  const sub = await send(f, {
    ip: '127.0.0.9',
    helo: 'evil.example',
    from: 'news@other.example',
    raw: message('News <news@news.sender.test>', 'subdomain'),
  });
  assert.ok(sub.ok, sub.response);
  // lists.test fails DMARC p=reject but is listed as not enforced: delivered, reported with a reason.
  const list = await send(f, {
    ip: '127.0.0.7',
    helo: 'lists.example',
    from: 'owner@lists.example',
    raw: message('Carol <carol@lists.test>', 'via a list'),
  });
  assert.ok(list.ok, list.response);
  // quiet.test publishes no rua: nothing is gathered for it.
  assert.ok(
    (
      await send(f, {
        ip: '127.0.0.5',
        helo: 'mail.quiet.test',
        from: 'a@quiet.test',
        raw: message('A <a@quiet.test>', 'quiet'),
      })
    ).ok,
  );

  // Nothing goes out while the period runs.
  assert.equal(await f.app.dmarcReports.runOnce(Date.now()), 0);
  const now = Date.now();
  const today = f.app.dmarcReports.periodOf(now);
  assert.deepEqual(
    (await f.app.store.dmarc.due(today + 86_400, 10)).map((x) => x.policyDomain),
    ['lists.test', 'sender.test'],
  );

  // A day later: one report per policy domain, queued and delivered.
  assert.equal(await f.app.dmarcReports.runOnce(now + 86_400_000), 2);
  const toOwner = await waitFor(
    () => owner.received().find((m) => m.rcpts.includes('dmarc@sender.test')),
    15000,
    'report at sender.test',
  );
  const toVendor = await waitFor(
    () => vendor.received().find((m) => m.rcpts.includes('agg@reports.test')),
    15000,
    'report at reports.test',
  );
  const toList = await waitFor(
    () => vendor.received().find((m) => m.rcpts.includes('dmarc@lists.test')),
    15000,
    'report at lists.test',
  );
  // The unconfirmed destination got nothing; the data is gone once queued.
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!vendor.received().some((m) => m.rcpts.some((r) => r.endsWith('@unconfirmed.test'))));
  assert.deepEqual(await f.app.store.dmarc.due(today + 86_400 * 3, 10), []);
  assert.equal(toOwner.from, 'dmarc-reports@example.com');
  // RFC 9990 section 3.5.2: report mail passes DMARC itself (DKIM-signed by our domain, aligned).
  const auth = await verifyAtReceiver(f, toOwner.data, toOwner.from);
  assert.ok(auth.dmarc, 'DMARC evaluated at the receiver');
  assert.equal(auth.dmarc.status.result, 'pass');

  const r = readReport(toOwner);
  assert.equal(readReport(toVendor).xml, r.xml, 'one report, the same to every destination');
  validate(r.xml);
  validate(readReport(toList).xml);
  assert.equal(r.fileName, `mx.test.petrel!sender.test!${today}!${today + 86_399}.xml.gz`);
  assert.equal(
    r.subject,
    `Report Domain: sender.test Submitter: mx.test.petrel Report-ID: <${today}.sender.test@mx.test.petrel>`,
  );
  const fb = p('feedback');
  assert.equal(xpath(r.xml, `string(${fb}${p('report_metadata', 'org_name')})`), 'Petrel Test Org');
  assert.equal(xpath(r.xml, `string(${fb}${p('report_metadata', 'date_range', 'begin')})`), String(today));
  assert.equal(xpath(r.xml, `string(${fb}${p('policy_published', 'domain')})`), 'sender.test');
  assert.equal(xpath(r.xml, `string(${fb}${p('policy_published', 'p')})`), 'reject');
  assert.equal(xpath(r.xml, `string(${fb}${p('policy_published', 'sp')})`), 'quarantine');
  assert.equal(xpath(r.xml, `count(${fb}${p('record')})`), '3');
  // Each record: source IP, count, disposition, aligned DKIM/SPF, From domain, raw results.
  const rec = (ip: string, from: string) =>
    `${fb}${p('record')}[*[local-name()='row']/*[local-name()='source_ip']='${ip}' and *[local-name()='identifiers']/*[local-name()='header_from']='${from}']`;
  const pass = rec('127.0.0.5', 'sender.test');
  assert.equal(xpath(r.xml, `string(${pass}${p('row', 'count')})`), '2');
  assert.equal(xpath(r.xml, `string(${pass}${p('row', 'policy_evaluated', 'disposition')})`), 'pass');
  assert.equal(xpath(r.xml, `string(${pass}${p('row', 'policy_evaluated', 'dkim')})`), 'pass');
  assert.equal(xpath(r.xml, `string(${pass}${p('row', 'policy_evaluated', 'spf')})`), 'pass');
  assert.equal(xpath(r.xml, `string(${pass}${p('auth_results', 'dkim', 'selector')})`), 'sel1');
  assert.equal(xpath(r.xml, `string(${pass}${p('auth_results', 'dkim', 'result')})`), 'pass');
  assert.equal(xpath(r.xml, `string(${pass}${p('auth_results', 'spf', 'result')})`), 'pass');
  assert.equal(xpath(r.xml, `string(${pass}${p('identifiers', 'envelope_from')})`), 'sender.test');
  const forgery = rec('127.0.0.9', 'sender.test');
  assert.equal(xpath(r.xml, `string(${forgery}${p('row', 'count')})`), '1');
  assert.equal(xpath(r.xml, `string(${forgery}${p('row', 'policy_evaluated', 'disposition')})`), 'reject');
  assert.equal(xpath(r.xml, `string(${forgery}${p('row', 'policy_evaluated', 'dkim')})`), 'fail');
  assert.equal(xpath(r.xml, `string(${forgery}${p('auth_results', 'spf', 'result')})`), 'fail');
  const subdomain = rec('127.0.0.9', 'news.sender.test');
  assert.equal(xpath(r.xml, `string(${subdomain}${p('row', 'policy_evaluated', 'disposition')})`), 'quarantine');
  assert.equal(xpath(r.xml, `string(${subdomain}${p('identifiers', 'envelope_from')})`), 'other.example');

  const l = readReport(toList).xml;
  assert.equal(xpath(l, `string(${fb}${p('record', 'row', 'policy_evaluated', 'disposition')})`), 'none');
  assert.equal(xpath(l, `string(${fb}${p('record', 'row', 'policy_evaluated', 'reason', 'type')})`), 'local_policy');
});

test('report destinations: size limits, a confirming record that redirects within its host, one that points elsewhere', async () => {
  const { destinations } = await import('../../src/spam/dmarc-reports/destinations.ts');
  f.dns.set('a.test._report._dmarc.vendor.test', { TXT: [['v=DMARC1; rua=mailto:inbox-a@vendor.test']] });
  f.dns.set('b.test._report._dmarc.vendor.test', { TXT: [['v=DMARC1; rua=mailto:elsewhere@attacker.test']] });
  f.dns.set('c.test._report._dmarc.vendor.test', { TXT: [['v=spf1 -all']] });
  const r = f.app.resolver;
  // Inside the organisation (a subdomain's mailbox counts as the same organisation): no lookup needed.
  assert.deepEqual(await destinations(r, 'a.test', ['mailto:dmarc@reports.a.test!10m', 'https://a.test/r']), [
    { address: 'dmarc@reports.a.test', maxBytes: 10 * 1024 * 1024 },
  ]);
  // A confirming record may replace the address with another at the same host.
  assert.deepEqual(await destinations(r, 'a.test', ['mailto:rua@vendor.test']), [
    { address: 'inbox-a@vendor.test', maxBytes: null },
  ]);
  // One that points to another host voids the destination; a record without v=DMARC1 confirms nothing.
  assert.deepEqual(await destinations(r, 'b.test', ['mailto:rua@vendor.test']), []);
  assert.deepEqual(await destinations(r, 'c.test', ['mailto:rua@vendor.test']), []);
  // A failing lookup confirms nothing either.
  f.dns.failing.add('d.test._report._dmarc.vendor.test');
  assert.deepEqual(await destinations(r, 'd.test', ['mailto:rua@vendor.test']), []);
});

test('one node sends: a report waits while another node holds the reporting lease; a report over a destination size limit skips it', {
  skip: xmllint.skip,
}, async () => {
  f.dns.set('_dmarc.small.test', {
    TXT: [['v=DMARC1; p=none; rua=mailto:big@small.test,mailto:tiny@small.test!1k']],
  });
  f.dns.set('small.test', {
    TXT: [['v=spf1 ip4:127.0.0.5 -all']],
    MX: [{ preference: 10, exchange: 'mx.sender.test' }],
  });
  const sent = await send(f, {
    ip: '127.0.0.5',
    helo: 'mail.small.test',
    from: 'a@small.test',
    raw: message('A <a@small.test>', 'small'),
  });
  assert.ok(sent.ok, sent.response);
  const later = Date.now() + 86_400_000;
  assert.equal(await f.app.store.leases.acquire('dmarc-reports', 'another-node', 60_000, later), true);
  assert.equal(await f.app.dmarcReports.runOnce(later), 0);
  assert.equal((await f.app.store.dmarc.due(f.app.dmarcReports.periodOf(later), 10)).length, 1, 'still waiting');
  await f.app.store.leases.release('dmarc-reports', 'another-node');
  assert.equal(await f.app.dmarcReports.runOnce(later), 1);
  const m = await waitFor(() => owner.received().find((x) => x.rcpts.includes('big@small.test')), 15000, 'report');
  // The report (its text part and the base64 XML) is over tiny@'s 1k: only big@ gets it.
  assert.ok(m.data.length > 1024);
  assert.deepEqual(m.rcpts, ['big@small.test']);
  validate(readReport(m).xml);
});

test('a running server sends the reports of a period by itself once it has ended', { skip: xmllint.skip }, async () => {
  const g = await startSpamWorld({
    hosts: ['127.0.0.2', '127.0.0.3'],
    zones: {
      'quick.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']], MX: [{ preference: 10, exchange: 'mx.quick.test' }] },
      'mx.quick.test': { A: ['127.0.0.3'] },
      '_dmarc.quick.test': { TXT: [['v=DMARC1; p=quarantine; rua=mailto:dmarc@quick.test']] },
    },
    configure(c) {
      c.spam.dmarc_reports.enabled = true;
      c.spam.dmarc_reports.interval = '2s';
    },
  });
  try {
    const mta = await g.mta('127.0.0.3');
    const r = await send(g, {
      ip: '127.0.0.5',
      helo: 'mail.quick.test',
      from: 'q@quick.test',
      raw: message('Q <q@quick.test>', 'quick'),
    });
    assert.ok(r.ok, r.response);
    const m = await waitFor(() => mta.received().find((x) => x.rcpts.includes('dmarc@quick.test')), 15000, 'report');
    const xml = readReport(m).xml;
    validate(xml);
    const begin = Number(xpath(xml, `string(${p('feedback', 'report_metadata', 'date_range', 'begin')})`));
    const end = Number(xpath(xml, `string(${p('feedback', 'report_metadata', 'date_range', 'end')})`));
    assert.equal(end - begin, 1, 'a 2-second period: begin to its last second');
    assert.equal(xpath(xml, `string(${p('feedback', 'record', 'row', 'policy_evaluated', 'disposition')})`), 'pass');
    // The default sender, and the default org name: the server's host name.
    assert.equal(m.from, 'noreply-dmarc@mx.test.petrel');
    assert.equal(xpath(xml, `string(${p('feedback', 'report_metadata', 'org_name')})`), 'mx.test.petrel');
  } finally {
    await g.stop();
  }
});
