// Which filings are judgements: into Junk is spam, out of Junk (not to Trash) is ham, the rest nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Mailbox, SpecialUse } from '../core/model.ts';
import { judgement } from './junk-feedback.ts';

const mb = (specialUse: SpecialUse | null) => ({ id: 1, accountId: 1, name: 'x', specialUse }) as Mailbox;
const move = (from: SpecialUse | null, to: SpecialUse | null) =>
  judgement({ kind: 'move', src: mb(from), dst: mb(to), uids: [1] });

test('judgements from where mail is filed', () => {
  assert.equal(move(null, '\\Junk'), 'spam');
  assert.equal(move('\\Inbox', '\\Junk'), 'spam');
  assert.equal(move('\\Trash', '\\Junk'), 'spam');
  assert.equal(move('\\Junk', null), 'ham');
  assert.equal(move('\\Junk', '\\Archive'), 'ham');
  assert.equal(move('\\Junk', '\\Trash'), null);
  assert.equal(move('\\Junk', '\\Junk'), null);
  assert.equal(move(null, '\\Archive'), null);
  assert.equal(judgement({ kind: 'copy', src: mb(null), dst: mb('\\Junk'), uids: [2] }), 'spam');
  // A client's APPEND has no source mailbox: into Junk is spam, anywhere else nothing (never ham).
  assert.equal(judgement({ kind: 'append', src: null, dst: mb('\\Junk'), uids: [3] }), 'spam');
  assert.equal(judgement({ kind: 'append', src: null, dst: mb(null), uids: [3] }), null);
  assert.equal(judgement({ kind: 'append', src: null, dst: mb('\\Inbox'), uids: [3] }), null);
});
