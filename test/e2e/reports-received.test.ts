// DMARC and TLS reports about our domains arriving by mail: a DMARC aggregate report written by another
// Petrel's reporter code (gzip) and a Google-style zip, and a TLS report, sent over SMTP with Python's
// smtplib to the MX listener for postmaster@; each is delivered to the mailbox as usual, read, stored once,
// and listed by `petrel reports` (a separate process on the same data directory). So are DMARC failure
// reports and feedback-loop complaints (ARF) about mail from our users.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { reportMail } from '../../src/reports/mail.ts';
import type { AuthFacts } from '../../src/spam/checks/auth.ts';
import { failureReport } from '../../src/spam/dmarc-reports/failure.ts';
import { reportXml } from '../../src/spam/dmarc-reports/xml.ts';
import { complaint } from '../helpers/arf.ts';
import { failedEvaluation } from '../helpers/dmarc.ts';
import { waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { buildZip } from '../helpers/zip.ts';
import { DOMAIN, type SmtpTestServer, startSmtpServer } from '../smtp/fixtures.ts';

const python = peer('python3', 'python3');
const run = promisify(execFile);
let t: SmtpTestServer;

before(async () => {
  t = await startSmtpServer();
});
after(() => t?.stop());

/** Sends a message file with smtplib to the MX listener (asynchronously: the server runs in this process). */
async function smtpSend(name: string, msg: Buffer, to = `postmaster@${DOMAIN}`): Promise<void> {
  const file = join(t.dataDir, name);
  writeFileSync(file, msg);
  const py = `import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.sendmail('noreply-dmarc@remote.test', [sys.argv[2]], open(sys.argv[3], 'rb').read())
s.quit()`;
  await run(python.path!, ['-c', py, String(t.ports.smtp), to, file], { timeout: 20000 });
}

function dmarcXml(domain: string, reportId: string): string {
  const outcome = (ip: string, pass: boolean) => ({
    sourceIp: ip,
    headerFrom: domain,
    envelopeFrom: pass ? domain : 'spoofer.test',
    disposition: pass ? ('pass' as const) : ('reject' as const),
    dkim: pass ? ('pass' as const) : ('fail' as const),
    spf: pass ? ('pass' as const) : ('fail' as const),
    reasons: [],
    dkimResults: pass ? [{ domain, selector: 'petrel', result: 'pass' as const }] : [],
    spfResult: { domain: pass ? domain : 'spoofer.test', result: pass ? ('pass' as const) : ('fail' as const) },
  });
  return reportXml(
    {
      orgName: 'Remote Org',
      email: 'noreply-dmarc@remote.test',
      reportId,
      begin: 1764979200,
      end: 1765065599,
      generator: 'Petrel',
    },
    { domain, p: 'reject', adkim: 'r', aspf: 'r', testing: 'n', rua: [] },
    [
      { outcome: outcome('192.0.2.10', true), count: 12 },
      { outcome: outcome('198.51.100.66', false), count: 4 },
    ],
  );
}

const mail = (reportId: string, type: string, fileName: string, data: Buffer, multipart?: string) =>
  reportMail({
    from: 'noreply-dmarc@remote.test',
    fromName: 'Remote',
    to: [`postmaster@${DOMAIN}`],
    policyDomain: DOMAIN,
    submitter: 'remote.test',
    reportId,
    text: 'An aggregate report.',
    attachment: { type, fileName, data },
    multipart,
    now: Date.now(),
  });

async function cli(args: string[]): Promise<string> {
  const r = await run(process.execPath, [resolve('bin/petrel.js'), ...args], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: t.dataDir },
    timeout: 30000,
  });
  return r.stdout;
}

test('reports sent to postmaster are delivered, read once each, and listed by `petrel reports`', {
  skip: python.skip,
}, async () => {
  await smtpSend(
    'r1.eml',
    mail('r1@remote.test', 'application/gzip', `remote.test!${DOMAIN}!1!2.xml.gz`, gzipSync(dmarcXml(DOMAIN, 'r1'))),
  );
  // The same report again (a retry by the sender): stored once.
  await smtpSend(
    'r1b.eml',
    mail('r1@remote.test', 'application/gzip', `remote.test!${DOMAIN}!1!2.xml.gz`, gzipSync(dmarcXml(DOMAIN, 'r1'))),
  );
  const zip = buildZip([
    {
      name: `google.com!${DOMAIN}!1!2.xml`,
      data: Buffer.from(dmarcXml(DOMAIN, 'g7').replace('Remote Org', 'google.com')),
    },
  ]);
  await smtpSend('g7.eml', mail('g7@google.com', 'application/zip', `google.com!${DOMAIN}!1!2.zip`, zip));
  // A report about a domain not hosted here: delivered, not kept.
  await smtpSend(
    'other.eml',
    mail('o1@remote.test', 'application/gzip', 'o.xml.gz', gzipSync(dmarcXml('not-ours.test', 'o1'))),
  );
  const tls = JSON.stringify({
    'organization-name': 'Big Provider',
    'date-range': { 'start-datetime': '2026-12-05T00:00:00Z', 'end-datetime': '2026-12-05T23:59:59Z' },
    'contact-info': 'tlsrpt@provider.test',
    'report-id': 'tls-42',
    policies: [
      {
        policy: { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: enforce'], 'policy-domain': DOMAIN },
        summary: { 'total-successful-session-count': 50, 'total-failure-session-count': 2 },
        'failure-details': [
          { 'result-type': 'certificate-expired', 'receiving-mx-hostname': `mx.${DOMAIN}`, 'failed-session-count': 2 },
        ],
      },
    ],
  });
  await smtpSend(
    't.eml',
    mail(
      'tls-42@provider.test',
      'application/tlsrpt+gzip',
      'x.json.gz',
      gzipSync(tls),
      'multipart/report; report-type="tlsrpt"',
    ),
  );

  const stored = await waitFor(
    async () => {
      const all = await t.app.store.receivedReports.list({ limit: 10 });
      return all.length >= 3 && all;
    },
    10000,
    'three stored reports',
  );
  // The TLS report went last: the duplicate and the foreign report were read (and dropped) before it.
  assert.deepEqual(
    (await t.app.store.receivedReports.list({ limit: 10 })).map((r) => [r.kind, r.org, r.domain]).sort(),
    [
      ['dmarc', 'Remote Org', DOMAIN],
      ['dmarc', 'google.com', DOMAIN],
      ['tls', 'Big Provider', DOMAIN],
    ],
  );
  // Every message reached the mailbox as well.
  assert.equal((await t.inbox(`postmaster@${DOMAIN}`)).length, 5);

  const list = await cli(['reports', 'list', '--kind', 'dmarc']);
  assert.match(
    list,
    new RegExp(`\\tdmarc\\t${DOMAIN.replace('.', '\\.')}\\tRemote Org\\t.*16 messages, 4 failing DMARC`),
  );
  const id = stored.find((r) => r.org === 'Remote Org')!.id;
  const show = await cli(['reports', 'show', String(id)]);
  assert.match(show, /policy published: p=reject/);
  assert.match(show, /^198\.51\.100\.66\t4\treject\tfail\tfail\texample\.test\tspf=fail \(spoofer\.test\)$/m);
  assert.match(
    show,
    /^192\.0\.2\.10\t12\tpass\tpass\tpass\texample\.test\tdkim=pass \(example\.test, petrel\) spf=pass \(example\.test\)$/m,
  );
  const tlsId = stored.find((r) => r.kind === 'tls')!.id;
  assert.match(
    await cli(['reports', 'show', String(tlsId)]),
    /policy sts for example\.test: 50 sessions ok, 2 failed\n {2}certificate-expired\t2\tmx\.example\.test/,
  );
});

test('a DMARC failure report (ARF) about our domain is kept and shown by `petrel reports`', {
  skip: python.skip,
}, async () => {
  const arf = failureReport(
    {
      ev: failedEvaluation(DOMAIN, `v=DMARC1; p=reject; ruf=mailto:postmaster@${DOMAIN}`, {
        policy: 'reject',
        spf: { domain: 'spoof.test', result: 'fail' },
      }),
      auth: { authResults: `mx.remote.test; dmarc=fail header.from=${DOMAIN}` } as AuthFacts,
      action: 'reject',
      clientIp: '203.0.113.66',
      mailFrom: 'x@spoof.test',
      raw: Buffer.from(`From: CEO <ceo@${DOMAIN}>\r\nSubject: gift cards please\r\n\r\nbody\r\n`),
      spfRecord: null,
    },
    { from: 'noreply-dmarc@remote.test', to: [`postmaster@${DOMAIN}`], hostname: 'mx.remote.test', now: Date.now() },
  );
  await smtpSend('arf.eml', arf);
  const [kept] = await waitFor(
    async () => {
      const r = await t.app.store.receivedReports.list({ kind: 'failure', limit: 5 });
      return r.length > 0 && r;
    },
    10000,
    'the failure report',
  );
  assert.equal(kept.org, 'remote.test');
  assert.match(
    await cli(['reports', 'list', '--kind', 'failure']),
    /\tfailure\texample\.test\tremote\.test\t.*dmarc failure from 203\.0\.113\.66 \(reject\)/,
  );
  const show = await cli(['reports', 'show', String(kept.id)]);
  assert.match(show, /failed to align: dkim,spf/);
  assert.match(show, /original: From CEO <ceo@example\.test>, Subject gift cards please/);
});

test('a feedback-loop complaint about mail from our user is kept as abuse and shown by `petrel reports`', {
  skip: python.skip,
}, async () => {
  // First a complaint about somebody else's domain (not ours to keep), then one about our user's mail.
  await smtpSend('other.eml', complaint({ from: 'x@elsewhere.test', subject: 'other', id: 'fbl-other' }));
  await smtpSend(
    'complaint.eml',
    complaint({ from: `Alice <alice@${DOMAIN}>`, mailFrom: `alice@${DOMAIN}`, subject: 'Limited time offer' }),
  );
  const [kept] = await waitFor(
    async () => {
      const r = await t.app.store.receivedReports.list({ kind: 'abuse', limit: 5 });
      return r.length > 0 && r;
    },
    10000,
    'the complaint',
  );
  assert.equal(kept.org, 'receiver.test');
  assert.equal(kept.domain, DOMAIN);
  assert.match(
    await cli(['reports', 'list', '--kind', 'abuse']),
    new RegExp(
      `\\tabuse\\t${DOMAIN.replace('.', '\\.')}\\treceiver\\.test\\t.*abuse complaint about mail from Alice <alice@`,
    ),
  );
  const show = await cli(['reports', 'show', String(kept.id)]);
  assert.match(show, /complaint \(abuse\) from receiver\.test \(ReceiverFBL\/1\.0\)/);
  assert.match(show, /original: From Alice <alice@example\.test>, Subject Limited time offer/);
  assert.match(show, /sent from 192\.0\.2\.9, Message-ID <orig-1@ours\.test>/);
  assert.equal((await t.app.store.receivedReports.list({ kind: 'abuse', limit: 5 })).length, 1, 'only ours');
});

test('`petrel reports show` of an id no report has is an error (exit 1), a word that is no id wrong usage (2)', async () => {
  // As `petrel queue show` of an unknown id: the README's exit codes are 1 for an error, 2 for wrong usage.
  const exit = async (args: string[]) => {
    try {
      await cli(args);
      return { code: 0, stderr: '' };
    } catch (e) {
      const err = e as { code: number; stderr: string };
      return { code: err.code, stderr: err.stderr };
    }
  };
  const missing = await exit(['reports', 'show', '999999']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such report: 999999/);
  const word = await exit(['reports', 'show', 'abc']);
  assert.equal(word.code, 2);
  assert.match(word.stderr, /report id/);
});
