// Attachment names: executables, double extensions (decoy extension or blanks before the real one),
// macro-enabled Office types, and hostile names that must not make the checks quadratic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeName } from './attachments.ts';

const EXE = new Set(['exe', 'scr']);

test('names: executable, decoy or blank-padded double extension, macro types', () => {
  assert.deepEqual(judgeName('setup.exe', EXE), ['executable']);
  assert.deepEqual(judgeName('invoice.pdf.exe', EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName('invoice.txt      .scr', EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName('invoice  .scr', EXE), ['executable']);
  assert.deepEqual(judgeName('dir/report.EXE  ', EXE), ['executable']);
  assert.deepEqual(judgeName('budget.xlsm', EXE), ['macro']);
  assert.deepEqual(judgeName('photo.jpg', EXE), []);
});

test('hostile names: half a megabyte of blanks is read once', () => {
  // The old /\s{3,}\.[^.]+$/ and /\s+$/ retried from every blank: minutes on these.
  const blanks = ' '.repeat(1 << 19);
  assert.deepEqual(judgeName(`${blanks}x.exe`, EXE), ['executable']);
  assert.deepEqual(judgeName(`x.pdf${blanks}.exe`, EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName(`x.exe${blanks}y`, EXE), []);
});
