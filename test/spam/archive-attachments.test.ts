// Archives as attachments, over the wire (raw SMTP from 127.0.0.95): a RAR or 7z holding an executable
// is refused during DATA like a zip holding one; a password-protected 7z or RAR, or one whose very list
// of files is encrypted, scores ATTACH_ENCRYPTED_ARCHIVE and is delivered; a harmless one adds nothing.
// Archives inside a zip (two levels down) are judged the same way.
// The 7z files are 7-Zip's own output (test/helpers/seven-zip.ts), the RAR files built to RARLAB's spec.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { attachmentPart } from '../helpers/mime.ts';
import { peer } from '../helpers/peers.ts';
import { buildRar4, buildRar5 } from '../helpers/rar.ts';
import type { TestServer } from '../helpers/server.ts';
import { HIDDEN, MANY, PLAIN_NAMES } from '../helpers/seven-zip.ts';
import { transaction } from '../helpers/smtp-client.ts';
import { buildZip } from '../helpers/zip.ts';
import { newestVerdict } from './fixture.ts';
import { sendSupplierMail, startMailboxServer } from './supplier-mail.ts';

const BOB = 'bob@archives.test';
let t: TestServer;

before(async () => {
  t = await startMailboxServer(BOB, 'archive-secret-pw');
});
after(() => t?.stop());

function send(name: string, type: string, content: Buffer) {
  return sendSupplierMail(t, {
    ip: '127.0.0.95',
    to: BOB,
    subject: 'Overdue invoices',
    text: 'The invoices are attached; the password is 1234.',
    parts: attachmentPart(name, type, content),
  });
}

const attachSymbols = async () =>
  Object.keys((await newestVerdict(t, BOB)).symbols)
    .filter((s) => s.startsWith('ATTACH'))
    .sort();

test('an executable inside a RAR or a 7z is refused during DATA', async () => {
  const rar = buildRar5([
    { name: 'readme.txt', data: Buffer.from('hi') },
    { name: 'scan/invoice.pdf.exe', data: Buffer.from('MZ') },
  ]);
  let r = await send('invoices.rar', 'application/vnd.rar', rar);
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /5\.7\.1 Attachment refused by policy: invoices\.rar\/scan\/invoice\.pdf\.exe/);
  r = await send('old.rar', 'application/x-rar-compressed', buildRar4([{ name: 'setup.scr', data: Buffer.from('x') }]));
  assert.equal(r.code, 550, r.raw);
  // 7-Zip's LZMA-compressed list of 31 names, one of them invoice-2026-31.pdf.exe.
  r = await send('invoices.7z', 'application/x-7z-compressed', MANY);
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /invoices\.7z\/invoice-2026-31\.pdf\.exe/);
  // Encrypted, but the names can be read: refused for the .exe.
  r = await send('evil.7z', 'application/x-7z-compressed', PLAIN_NAMES);
  assert.equal(r.code, 550, r.raw);
});

test('a password-protected RAR or 7z scores ATTACH_ENCRYPTED_ARCHIVE and is delivered; a plain one adds nothing', async () => {
  let r = await send('notes.rar', 'application/vnd.rar', buildRar5([{ name: 'notes.txt', data: Buffer.from('n') }]));
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(await attachSymbols(), []);
  r = await send(
    'locked.rar',
    'application/vnd.rar',
    buildRar4([{ name: 'statement.pdf', data: Buffer.from('%PDF'), encrypted: true }]),
  );
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(await attachSymbols(), ['ATTACH_ENCRYPTED_ARCHIVE']);
  // The list of files itself encrypted (rar -hp, 7z -mhe): nothing to judge by name, still a password.
  r = await send(
    'hidden.rar',
    'application/vnd.rar',
    buildRar5([{ name: 'x.exe', data: Buffer.from('MZ') }], { headersEncrypted: true }),
  );
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(await attachSymbols(), ['ATTACH_ENCRYPTED_ARCHIVE']);
  // Named .pdf: archives are recognised by their bytes, not their names.
  r = await send('statement.pdf', 'application/pdf', HIDDEN);
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(await attachSymbols(), ['ATTACH_ENCRYPTED_ARCHIVE']);
  assert.equal((await newestVerdict(t, BOB)).symbols.ATTACH_ENCRYPTED_ARCHIVE, 4);
});

test('archives inside a zip are opened in turn: a password or an .exe one or two levels down', async () => {
  // A zip holding a password-protected zip: the password is what hides the payload from scanners.
  const locked = buildZip([
    { name: 'inner.zip', data: buildZip([{ name: 'a.pdf', data: Buffer.from('%PDF'), encrypted: true }]) },
  ]);
  let r = await send('outer.zip', 'application/zip', locked);
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(await attachSymbols(), ['ATTACH_ENCRYPTED_ARCHIVE']);
  // zip > 7z > .exe, and zip > zip > zip > .scr: refused, naming the path.
  r = await send('bundle.zip', 'application/zip', buildZip([{ name: 'docs/invoices.7z', data: MANY }]));
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /bundle\.zip\/docs\/invoices\.7z\/invoice-2026-31\.pdf\.exe/);
  const deep = buildZip([
    {
      name: 'b.zip',
      data: buildZip([{ name: 'c.zip', data: buildZip([{ name: 'run.scr', data: Buffer.from('x') }]) }]),
    },
  ]);
  r = await send('a.zip', 'application/zip', deep);
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /a\.zip\/b\.zip\/c\.zip\/run\.scr/);
  // Harmless archives inside a zip add nothing.
  r = await send(
    'plain.zip',
    'application/zip',
    buildZip([{ name: 'x.zip', data: buildZip([{ name: 'notes.txt', data: Buffer.from('n') }]) }]),
  );
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(await attachSymbols(), []);
});

const infoZip = peer('zip', 'zip');

test('zips read as unzip reads them: Zip64, data in front, a forged local name; the .exe inside is refused', {
  skip: infoZip.skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-zips-'));
  try {
    writeFileSync(join(dir, 'readme.txt'), 'hi\n');
    writeFileSync(join(dir, 'evil.exe'), 'MZ');
    const zip = (file: string, ...opts: string[]) => {
      execFileSync('zip', ['-q', ...opts, file, 'readme.txt', 'evil.exe'], { cwd: dir });
      return readFileSync(join(dir, file));
    };
    const stub = Buffer.from('#!/bin/sh\n# a self-extractor stub\n'.repeat(20));
    const archives = {
      zip64: zip('fz.zip', '-fz'), // the end record's directory offset is 0xFFFFFFFF: see the Zip64 record
      'data in front': Buffer.concat([stub, zip('plain.zip')]), // offsets not counting the stub
      'zip64, data in front': Buffer.concat([stub, zip('fz2.zip', '-fz')]),
    };
    for (const [what, archive] of Object.entries(archives)) {
      const r = await send('documents.zip', 'application/zip', archive);
      assert.equal(r.code, 550, `${what}: ${r.raw}`);
      assert.match(r.raw, /documents\.zip\/evil\.exe/, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The central directory says invoice.txt, the local header invoice.exe (what bsdtar and unar extract).
  const forged = buildZip([{ name: 'invoice.txt', localName: 'invoice.exe', data: Buffer.from('hello') }]);
  const r = await send('documents.zip', 'application/zip', forged);
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /documents\.zip\/invoice\.exe/);
});

test('names ending in dots or blanks (dropped when Windows saves the file) hide no extension', async () => {
  let r = await send('invoice.pdf.exe.', 'application/octet-stream', Buffer.from('hello'));
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /invoice\.pdf\.exe\./);
  r = await send('docs.zip', 'application/zip', buildZip([{ name: 'setup.exe . .', data: Buffer.from('hello') }]));
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /docs\.zip\/setup\.exe/);
  // A name that only ends in dots is nothing more than it says.
  r = await send('notes.txt...', 'application/octet-stream', Buffer.from('hello'));
  assert.equal(r.code, 250, r.raw);
});

test('archives listing long dotted paths by the thousand: the .exe among them is refused', async () => {
  // Names like "/./././...": each costs judging no more than its last path part (and it was ~100 ns an
  // octet: 42 MB of such names ran a scan past its time limit, and the .exe went unjudged).
  const names = Array.from({ length: 2000 }, (_, i) => ({ name: `${'/.'.repeat(150)}${i}`, data: Buffer.alloc(0) }));
  const zip = buildZip([...names, { name: `${'/.'.repeat(150)}/evil.exe`, data: Buffer.from('MZ') }]);
  const r = await send('scans.zip', 'application/zip', zip);
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /Attachment refused by policy: scans\.zip\//);
});

test('past the caps, what goes unread is said: ATTACH_TOO_MANY_ENTRIES, ATTACH_TOO_MANY_PARTS, to Junk', async () => {
  // From a sender of its own: the refusals of the other tests do not weigh on its reputation here.
  let k = 0;
  const deliver = (parts: string[]) =>
    transaction(t.ports.smtp, {
      ip: '127.0.0.97',
      helo: 'mail.notes.test',
      from: 'notes@notes.test',
      to: [BOB],
      data: [
        'From: Notes <notes@notes.test>',
        `To: ${BOB}`,
        'Subject: Notes',
        `Message-ID: <${Date.now()}.${++k}@notes.test>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'notes',
        ...parts,
        '--b--',
        '',
      ].join('\r\n'),
    });
  // An .exe as the 10,001st name of a zip is not read; the archive says it had more than was read.
  const entries = Array.from({ length: 10000 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.alloc(0) }));
  const over = buildZip([...entries, { name: 'evil.exe', data: Buffer.from('MZ') }]);
  let r = await deliver(attachmentPart('docs.zip', 'application/zip', over));
  assert.equal(r.code, 250, r.raw);
  let v = await newestVerdict(t, BOB);
  assert.equal(v.symbols.ATTACH_TOO_MANY_ENTRIES, 6, JSON.stringify(v.symbols));
  assert.equal(v.box, 'Junk');
  // 10,000 files and no more: all judged, nothing to say.
  r = await deliver(attachmentPart('docs.zip', 'application/zip', buildZip(entries)));
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(await attachSymbols(), []);
  // An .exe as the 502nd MIME part.
  const parts: string[] = [];
  for (let i = 0; i < 500; i++) parts.push(...attachmentPart(`note${i}.txt`, 'application/octet-stream', 'x'));
  parts.push(...attachmentPart('invoice.pdf.exe', 'application/octet-stream', Buffer.from('MZ\x90\x00')));
  r = await deliver(parts);
  assert.equal(r.code, 250, r.raw);
  v = await newestVerdict(t, BOB);
  assert.equal(v.symbols.ATTACH_TOO_MANY_PARTS, 6, JSON.stringify(v.symbols));
  assert.equal(v.box, 'Junk');
});

test('an attached message/global sent base64 (RFC 6532 section 3.7) is looked inside: its .exe is refused', async () => {
  const inner = [
    'From: Accounts <accounts@supplier.test>',
    'Subject: invoice',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'see attached',
    ...attachmentPart('invoice.pdf.exe', 'application/octet-stream', Buffer.from('MZ\x90\x00')),
    '--b--',
    '',
  ].join('\r\n');
  const r = await send('forwarded.eml', 'message/global', Buffer.from(inner));
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /invoice\.pdf\.exe/);
});

const gnuTar = peer('tar', 'tar');

test('tar and gzip, as GNU tar and gzip write them (Windows opens both): the .exe inside is refused', {
  skip: gnuTar.skip ?? peer('gzip', 'gzip').skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-tars-'));
  try {
    const deep = `${'scans-2026/'.repeat(12)}`;
    mkdirSync(join(dir, deep), { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'hi\n');
    writeFileSync(join(dir, 'invoice.exe'), 'MZ');
    writeFileSync(join(dir, deep, 'scan.pdf.scr'), 'MZ');
    const tar = (...args: string[]) => execFileSync('tar', args, { cwd: dir });
    const gzip = (...args: string[]) => execFileSync('gzip', args, { cwd: dir });
    // A gzip keeps the file's own name in its header (gzip -N); without one (-n), the attachment's name
    // less ".gz" is the file's, as rspamd and gunzip take it.
    let r = await send('invoice.gz', 'application/gzip', gzip('-c', '-N', 'invoice.exe'));
    assert.equal(r.code, 550, r.raw);
    assert.match(r.raw, /invoice\.gz\/invoice\.exe/);
    r = await send('Payment.exe.gz', 'application/gzip', gzip('-c', '-n', 'invoice.exe'));
    assert.equal(r.code, 550, r.raw);
    // A tar, its .exe named past 100 octets (a GNU long name, a POSIX prefix), and a tar inside a gzip.
    r = await send('documents.tar', 'application/x-tar', tar('-cf', '-', 'notes.txt', deep));
    assert.equal(r.code, 550, r.raw);
    assert.match(r.raw, /scan\.pdf\.scr/);
    r = await send('documents.tar', 'application/x-tar', tar('--format=ustar', '-cf', '-', 'notes.txt', deep));
    assert.equal(r.code, 550, r.raw);
    r = await send('documents.tgz', 'application/gzip', tar('-czf', '-', 'notes.txt', 'invoice.exe'));
    assert.equal(r.code, 550, r.raw);
    assert.match(r.raw, /documents\.tgz\/invoice\.exe/);
    // Harmless ones add nothing.
    r = await send('notes.tar.gz', 'application/gzip', tar('-czf', '-', 'notes.txt'));
    assert.equal(r.code, 250, r.raw);
    assert.deepEqual(await attachSymbols(), []);
    r = await send('notes.txt.gz', 'application/gzip', gzip('-c', '-n', 'notes.txt'));
    assert.equal(r.code, 250, r.raw);
    assert.deepEqual(await attachSymbols(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
