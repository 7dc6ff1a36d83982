// Hostile reports by mail, against `petrel serve` in a child process whose heap is limited as a container's
// would be: a report that is tiny on the wire but would cost hundreds of megabytes to read (a gzip of
// deeply nested JSON) is refused unread, and one that takes seconds and hundreds of megabytes to parse
// (a gzip of 50,000 DMARC records) is parsed on the report reader's worker thread, under its own heap
// limit; the message is delivered, the server keeps serving, and a report that reads within the limits
// is still kept.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { reportMail } from '../../src/reports/mail.ts';
import { waitFor } from '../helpers/outbound.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inboxOf, openStoppedPetrel, type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'petrel-reports-hostile-'));
let proc: PetrelProcess | null = null;
after(async () => {
  if (proc) await stopPetrel(proc.child, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const report = (reportId: string, type: string, fileName: string, data: Buffer) =>
  reportMail({
    from: 'noreply@remote.test',
    fromName: 'Remote',
    to: ['admin@localhost'],
    policyDomain: 'localhost',
    submitter: 'remote.test',
    reportId,
    text: 'An aggregate report.',
    attachment: { type, fileName, data },
    now: Date.now(),
  });

/** One message over SMTP to admin@localhost; the reply to its data. */
async function deliver(port: number, raw: Buffer): Promise<number> {
  const c = await RawSmtp.open(port);
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO remote.test');
    await c.expect(250, 'MAIL FROM:<noreply@remote.test>');
    await c.expect(250, 'RCPT TO:<admin@localhost>');
    await c.expect(354, 'DATA');
    c.write(Buffer.from(`${raw.toString('latin1').replace(/^\./gm, '..')}.\r\n`, 'latin1'));
    return (await c.read(60_000)).code;
  } finally {
    c.close();
  }
}

test('a TLS report of deeply nested JSON, 20 KB on the wire, is refused unread: the server keeps serving', {
  timeout: 180_000,
}, async () => {
  // 256 MB of heap: what Node gives itself in a container of 512 MB.
  proc = await startPetrel(dir, { NODE_OPTIONS: '--max-old-space-size=256' });
  const port = proc.ports.smtp;
  let exited: number | null | undefined;
  proc.child.once('exit', (code) => (exited = code));

  // 20 MB of nesting once inflated, 20 KB compressed: JSON.parse needs some 700 MB for it.
  const depth = 10 * 1024 * 1024 - 8;
  const nested = gzipSync(`{"policies":${'['.repeat(depth)}${']'.repeat(depth)}}`);
  assert.ok(nested.length < 100_000);
  const code = await deliver(
    port,
    report('nested@remote.test', 'application/tlsrpt+gzip', 'remote.test!localhost!1!2.json.gz', nested),
  ).catch((e: Error) => `${e.message}\n${proc!.stderr().slice(0, 1500)}`);
  assert.equal(code, 250, 'the message carrying it is delivered');

  // A report that reads within the limits, after it: the server is still there to take it and keeps it.
  const tls = JSON.stringify({
    'organization-name': 'Remote Org',
    'date-range': { 'start-datetime': '2026-01-05T00:00:00Z', 'end-datetime': '2026-01-06T00:00:00Z' },
    'contact-info': 'noreply@remote.test',
    'report-id': 'fine-1',
    policies: [
      {
        policy: { 'policy-type': 'no-policy-found', 'policy-domain': 'localhost' },
        summary: { 'total-successful-session-count': 3, 'total-failure-session-count': 0 },
      },
    ],
  });
  const fine = report(
    'fine-1@remote.test',
    'application/tlsrpt+gzip',
    'remote.test!localhost!1!2.json.gz',
    gzipSync(tls),
  );
  assert.equal(await deliver(port, fine), 250, 'the server still takes mail');
  await waitFor(() => proc!.stdout().includes('"report received"'), 60_000, 'the later report read');
  assert.equal(exited, undefined, `the server is still running:\n${proc.stderr().slice(-2000)}`);
  assert.match(proc.stdout(), /"err":"TLS report nested too deep[^"]*","msg":"a report could not be read"/);

  assert.equal(await stopPetrel(proc.child), 0);
  proc = null;
  const app = await openStoppedPetrel(dir);
  try {
    assert.equal((await inboxOf(app, 'admin@localhost')).length, 2, 'both messages delivered');
    const kept = await app.store.receivedReports.list({ limit: 10 });
    assert.deepEqual(
      kept.map((r) => r.reportId),
      ['fine-1'],
    );
  } finally {
    await app.close();
  }
});

test('a DMARC report of 20 MB (50,000 records, 100 KB gzipped) is read aside, within limits of its own: the server keeps serving', {
  timeout: 180_000,
}, async () => {
  const d = mkdtempSync(join(tmpdir(), 'petrel-reports-hostile-'));
  proc = await startPetrel(d, { NODE_OPTIONS: '--max-old-space-size=256' });
  try {
    const port = proc.ports.smtp;
    let exited: number | null | undefined;
    proc.child.once('exit', (code) => (exited = code));
    const record =
      '<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated><disposition>none</disposition>' +
      '<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>localhost</header_from>' +
      '</identifiers><auth_results><dkim><domain>localhost</domain><selector>s</selector><result>pass</result></dkim>' +
      '<spf><domain>localhost</domain><result>pass</result></spf></auth_results></record>\n';
    const xml = (id: string, records: number) =>
      '<?xml version="1.0" encoding="UTF-8"?>\n<feedback><report_metadata><org_name>Remote Org</org_name>' +
      `<email>noreply@remote.test</email><report_id>${id}</report_id><date_range><begin>1767571200</begin>` +
      '<end>1767657599</end></date_range></report_metadata><policy_published><domain>localhost</domain>' +
      `<p>none</p></policy_published>\n${record.repeat(records)}</feedback>\n`;
    const big = gzipSync(xml('big-1', 49_000));
    assert.ok(big.length < 200_000);
    const code = await deliver(
      port,
      report('big-1@remote.test', 'application/gzip', 'remote.test!localhost!1767571200!1767657599.xml.gz', big),
    ).catch((e: Error) => `${e.message}\n${proc!.stderr().slice(0, 1500)}`);
    assert.equal(code, 250, 'the message carrying it is delivered');
    const fine = gzipSync(xml('fine-2', 3));
    assert.equal(
      await deliver(port, report('fine-2@remote.test', 'application/gzip', 'remote.test!localhost!1!2.xml.gz', fine)),
      250,
      'the server still takes mail',
    );
    await waitFor(() => proc!.stdout().includes('"reportId":"fine-2"'), 60_000, 'the later report read');
    assert.equal(exited, undefined, `the server is still running:\n${proc.stderr().slice(-2000)}`);
    assert.equal(await stopPetrel(proc.child), 0);
    proc = null;
    const app = await openStoppedPetrel(d);
    try {
      assert.equal((await inboxOf(app, 'admin@localhost')).length, 2, 'both messages delivered');
      const kept = await app.store.receivedReports.list({ limit: 10 });
      assert.ok(kept.some((r) => r.reportId === 'fine-2'));
    } finally {
      await app.close();
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
