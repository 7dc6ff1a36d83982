// Reading received reports: DMARC aggregate XML as Petrel itself writes it (RFC 9990) and as the older
// RFC 7489 schema has it, in gzip, zip or plain; TLS-RPT JSON (RFC 8460's own example); and what a hostile
// sender might try (a DTD, a compression bomb, a report without its identity).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { complaint } from '../../../test/helpers/arf.ts';
import { failedEvaluation } from '../../../test/helpers/dmarc.ts';
import { buildZip } from '../../../test/helpers/zip.ts';
import type { AuthFacts } from '../../spam/checks/auth.ts';
import { failureReport } from '../../spam/dmarc-reports/failure.ts';
import { reportXml } from '../../spam/dmarc-reports/xml.ts';
import { reportMail } from '../mail.ts';
import { findReport, MAX_REPORT_BYTES, unpack } from './extract.ts';
import { feedbackType, parseAbuse, parseDmarcXml, parseFailure, parseTlsJson, ReportError } from './parse.ts';
import { looksLikeReport } from './service.ts';

const ours = reportXml(
  {
    orgName: 'Remote Org',
    email: 'noreply-dmarc@remote.test',
    reportId: '1733443200.example.com',
    begin: 1733443200,
    end: 1733529599,
    generator: 'Petrel',
  },
  { domain: 'example.com', p: 'reject', sp: 'quarantine', adkim: 'r', aspf: 's', testing: 'n', rua: [] },
  [
    {
      count: 7,
      outcome: {
        sourceIp: '192.0.2.1',
        headerFrom: 'example.com',
        envelopeFrom: 'example.com',
        disposition: 'pass',
        dkim: 'pass',
        spf: 'pass',
        reasons: [],
        dkimResults: [{ domain: 'example.com', selector: 'petrel', result: 'pass' }],
        spfResult: { domain: 'example.com', result: 'pass' },
      },
    },
    {
      count: 3,
      outcome: {
        sourceIp: '198.51.100.9',
        headerFrom: 'example.com',
        envelopeFrom: 'spoofer.test',
        disposition: 'reject',
        dkim: 'fail',
        spf: 'fail',
        reasons: [],
        dkimResults: [],
        spfResult: { domain: 'spoofer.test', result: 'softfail' },
      },
    },
  ],
);

// The RFC 7489 Appendix C schema, no namespace, one record; what most reporters sent for years.
const legacy = `<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email>
    <report_id>4817162412339837419</report_id><date_range><begin>1733443200</begin><end>1733529599</end></date_range>
  </report_metadata>
  <policy_published><domain>Example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct></policy_published>
  <record><row><source_ip>203.0.113.5</source_ip><count>2</count>
    <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><dkim><domain>other.test</domain><result>pass</result></dkim><spf><domain>example.com</domain><result>pass</result></spf></auth_results>
  </record>
</feedback>`;

// RFC 8460 Appendix B, shortened.
const tlsrpt = JSON.stringify({
  'organization-name': 'Company-X',
  'date-range': { 'start-datetime': '2016-04-01T00:00:00Z', 'end-datetime': '2016-04-01T23:59:59Z' },
  'contact-info': 'sts-reporting@company-x.example',
  'report-id': '5065427c-23d3-47ca-b6e0-946ea0e8c4be',
  policies: [
    {
      policy: {
        'policy-type': 'sts',
        'policy-string': ['version: STSv1', 'mode: testing', 'mx: *.mail.company-y.example', 'max_age: 86400'],
        'policy-domain': 'company-y.example',
        'mx-host': '*.mail.company-y.example',
      },
      summary: { 'total-successful-session-count': 5326, 'total-failure-session-count': 303 },
      'failure-details': [
        {
          'result-type': 'certificate-expired',
          'sending-mta-ip': '2001:db8:abcd:0012::1',
          'receiving-mx-hostname': 'mx1.mail.company-y.example',
          'failed-session-count': 100,
        },
        {
          'result-type': 'starttls-not-supported',
          'sending-mta-ip': '2001:db8:abcd:0013::1',
          'receiving-mx-hostname': 'mx2.mail.company-y.example',
          'receiving-ip': '203.0.113.56',
          'failed-session-count': 200,
          'failure-reason-code': 'my-reason',
        },
      ],
    },
  ],
});

test('DMARC XML as Petrel writes it: metadata, published policy, records with their results, totals', () => {
  const r = parseDmarcXml(ours);
  assert.deepEqual(
    [r.org, r.email, r.reportId, r.begin, r.end, r.domain],
    ['Remote Org', 'noreply-dmarc@remote.test', '1733443200.example.com', 1733443200, 1733529599, 'example.com'],
  );
  assert.deepEqual(r.policy, { p: 'reject', sp: 'quarantine', pct: null, adkim: 'r', aspf: 's' });
  assert.deepEqual(r.totals, { messages: 10, pass: 7, fail: 3 });
  assert.deepEqual(r.records[1], {
    ip: '198.51.100.9',
    count: 3,
    disposition: 'reject',
    dkim: 'fail',
    spf: 'fail',
    headerFrom: 'example.com',
    envelopeFrom: 'spoofer.test',
    dkimAuth: [],
    spfAuth: [{ domain: 'spoofer.test', result: 'softfail' }],
  });
  assert.deepEqual(r.records[0].dkimAuth, [{ domain: 'example.com', selector: 'petrel', result: 'pass' }]);
});

test('DMARC XML in the RFC 7489 schema (no namespace, pct): read the same way, the domain lower-cased', () => {
  const r = parseDmarcXml(legacy);
  assert.equal(r.domain, 'example.com');
  assert.equal(r.policy.pct, 100);
  assert.deepEqual(r.totals, { messages: 2, pass: 2, fail: 0 });
  assert.deepEqual(r.records[0].dkimAuth, [{ domain: 'other.test', selector: '', result: 'pass' }]);
});

test('TLS-RPT JSON (RFC 8460 example): policies, sessions, failure details', () => {
  const r = parseTlsJson(tlsrpt);
  assert.deepEqual([r.org, r.domain, r.begin, r.end], ['Company-X', 'company-y.example', 1459468800, 1459555199]);
  assert.deepEqual(r.totals, { success: 5326, failure: 303 });
  assert.deepEqual(r.policies[0].details[1], {
    resultType: 'starttls-not-supported',
    mx: 'mx2.mail.company-y.example',
    receivingIp: '203.0.113.56',
    sendingIp: '2001:db8:abcd:0013::1',
    count: 200,
    reason: 'my-reason',
  });
});

test('hostile or broken reports are refused with a reason, never expanded or trusted', () => {
  assert.throws(
    () => parseDmarcXml(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><feedback>&lol;</feedback>`),
    ReportError,
  );
  assert.throws(() => parseDmarcXml('<feedback><report_metadata/></feedback>'), /metadata incomplete/);
  assert.throws(() => parseDmarcXml('<html></html>'), /no <feedback>/);
  assert.throws(() => parseTlsJson('{"policies": []}'), /metadata incomplete/);
  assert.throws(() => parseTlsJson('not json'), /not JSON/);
  // Counts that are not counts become 0; long strings are cut.
  const odd = parseDmarcXml(
    legacy.replace('<count>2</count>', '<count>-5e9</count>').replace('203.0.113.5', 'x'.repeat(500)),
  );
  assert.equal(odd.records[0].count, 0);
  assert.equal(odd.records[0].ip.length, 45);
  // A gzip bomb stops at the limit instead of filling memory.
  assert.throws(
    () => unpack(gzipSync(Buffer.alloc(MAX_REPORT_BYTES + 1024))),
    /maxOutputLength|Cannot create a Buffer|buffer/i,
  );
});

const mail = (type: string, fileName: string, data: Buffer, extra: Partial<Parameters<typeof reportMail>[0]> = {}) =>
  reportMail({
    from: 'noreply-dmarc@remote.test',
    fromName: 'Remote',
    to: ['postmaster@example.com'],
    policyDomain: 'example.com',
    submitter: 'remote.test',
    reportId: 'x1@remote.test',
    text: 'This is an aggregate report.',
    attachment: { type, fileName, data },
    now: Date.now(),
    ...extra,
  });

test('reports found in mail: gzip (Petrel, most senders), zip (Google, Microsoft), plain XML, TLS-RPT gzip', () => {
  const gz = findReport(mail('application/gzip', 'remote.test!example.com!1!2.xml.gz', gzipSync(ours)));
  assert.equal(gz?.kind, 'dmarc');
  const zip = buildZip([{ name: 'google.com!example.com!1!2.xml', data: Buffer.from(legacy) }]);
  const z = findReport(mail('application/zip', 'google.com!example.com!1!2.zip', zip));
  assert.equal(z?.kind === 'dmarc' && parseDmarcXml(z.xml).org, 'google.com');
  // Some send application/octet-stream with the right file name.
  assert.equal(findReport(mail('application/octet-stream', 'r.xml.gz', gzipSync(legacy)))?.kind, 'dmarc');
  assert.equal(findReport(mail('text/xml', 'r.xml', Buffer.from(legacy)))?.kind, 'dmarc');
  const t = findReport(
    mail('application/tlsrpt+gzip', 'company-x!company-y.example!1!2.json.gz', gzipSync(tlsrpt), {
      multipart: 'multipart/report; report-type="tlsrpt"',
    }),
  );
  assert.equal(t?.kind, 'tls');
  // Not reports: an ordinary attachment, a damaged archive.
  assert.equal(findReport(mail('application/pdf', 'invoice.pdf', Buffer.from('%PDF-1.4'))), null);
  assert.equal(findReport(mail('application/gzip', 'r.xml.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3]))), null);
  assert.equal(looksLikeReport(mail('application/gzip', 'a.gz', Buffer.alloc(1))), true);
  assert.equal(looksLikeReport(Buffer.from('Subject: lunch?\r\n\r\nhi\r\n')), false);
});

test('failure reports (ARF): found by their report type, fields and the original header section read', () => {
  const raw = failureReport(
    {
      ev: failedEvaluation('example.com', 'v=DMARC1; p=reject; ruf=mailto:f@example.com', {
        policy: 'reject',
        dkim: [{ domain: 'example.com', selector: 's1', result: 'fail' }],
        spf: { domain: 'spoof.test', result: 'fail' },
      }),
      auth: { authResults: 'mx.remote.test; dmarc=fail header.from=example.com' } as AuthFacts,
      action: 'reject',
      clientIp: '198.51.100.7',
      mailFrom: 'x@spoof.test',
      raw: Buffer.from('From: Boss <boss@example.com>\r\nSubject: urgent wire\r\n\r\nbody\r\n'),
      spfRecord: 'v=spf1 -all',
    },
    { from: 'noreply@remote.test', to: ['f@example.com'], hostname: 'mx.remote.test', now: Date.UTC(2026, 11, 6) },
  );
  assert.equal(looksLikeReport(raw), true);
  const found = findReport(raw);
  assert.equal(found?.kind, 'failure');
  if (found?.kind !== 'failure') return;
  const r = parseFailure(found.fields, found.headers, { org: 'remote.test', reportId: 'id1@remote.test', now: 0 });
  assert.deepEqual(
    [r.domain, r.sourceIp, r.authFailure, r.identityAlignment, r.deliveryResult, r.dkimDomain, r.begin],
    ['example.com', '198.51.100.7', 'dmarc', 'dkim,spf', 'reject', 'example.com', Date.UTC(2026, 11, 6) / 1000],
  );
  assert.equal(r.originalSubject, 'urgent wire');
  assert.equal(r.originalMailFrom, '<x@spoof.test>');
  // An abuse complaint (another ARF feedback type) is not an authentication failure report.
  assert.throws(
    () =>
      parseFailure('Feedback-Type: abuse\r\nReported-Domain: example.com\r\n', '', { org: 'a', reportId: 'b', now: 0 }),
    /not an authentication failure report/,
  );
});

test('feedback-loop complaints (ARF abuse): the original sender, subject and source read; other types refused', () => {
  const raw = complaint({ from: 'Alice <alice@ours.test>', subject: 'Great offer' });
  assert.equal(looksLikeReport(raw), true);
  const found = findReport(raw);
  assert.equal(found?.kind, 'failure');
  if (found?.kind !== 'failure') return;
  assert.equal(feedbackType(found.fields), 'abuse');
  const r = parseAbuse(found.fields, found.headers, { org: 'receiver.test', reportId: 'fbl-1@receiver.test', now: 0 });
  assert.deepEqual(
    [
      r.domain,
      r.feedbackType,
      r.sourceIp,
      r.userAgent,
      r.originalFrom,
      r.originalSubject,
      r.originalMessageId,
      r.begin,
    ],
    [
      'ours.test',
      'abuse',
      '192.0.2.9',
      'ReceiverFBL/1.0',
      'Alice <alice@ours.test>',
      'Great offer',
      '<orig-1@ours.test>',
      Date.UTC(2026, 11, 6, 8) / 1000,
    ],
  );
  // No From in the original: the MAIL FROM's domain says whose it was.
  const bare = findReport(complaint({ from: 'undisclosed', mailFrom: 'news@list.ours.test', subject: 's' }));
  if (bare?.kind !== 'failure') throw new Error('not found');
  assert.equal(parseAbuse(bare.fields, bare.headers, { org: 'r', reportId: 'i', now: 0 }).domain, 'list.ours.test');
  assert.throws(
    () => parseAbuse('Feedback-Type: auth-failure\r\n', '', { org: 'a', reportId: 'b', now: 0 }),
    /not a complaint/,
  );
  assert.throws(
    () => parseAbuse('Feedback-Type: not-spam\r\n', '', { org: 'a', reportId: 'b', now: 0 }),
    /not a complaint/,
  );
});
