// Which filings are judgements: into Junk is spam, out of Junk (not to Trash) is ham, the rest nothing; and
// an account's judgements are given to the sinks one after the other, in the order they were made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Mailbox, SpecialUse } from '../core/model.ts';
import type { Filing, MailService } from '../mailbox/service.ts';
import { silentLogger } from '../telemetry/log.ts';
import type { FeedbackSink } from './feedback.ts';
import { judgement, junkFeedback } from './junk-feedback.ts';

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

// A MailService with one message per uid and the store's "judged already" memory, enough for junkFeedback.
function fakeMail() {
  const judged = new Map<string, string>();
  return {
    store: {
      listMessages: async (_mailboxId: number, opts: { uids: number[] }) => opts.uids.map((uid) => ({ uid })),
      spam: {
        noteJudgement: async (accountId: number, digest: string, cls: string) => {
          const key = `${accountId} ${digest}`;
          const was = judged.get(key);
          if (was === cls) return 'same';
          judged.set(key, cls);
          return was === undefined ? 'new' : 'changed';
        },
      },
    },
    readMany: async (recs: { uid: number }[]) =>
      recs.map((r) => Buffer.from(`Subject: offer ${r.uid}\r\n\r\nCheap pills, message ${r.uid}.\r\n`)),
  } as unknown as MailService;
}

const inAccount = (accountId: number, specialUse: SpecialUse | null) =>
  ({ id: accountId * 10 + (specialUse ? 1 : 0), accountId, name: 'x', specialUse }) as Mailbox;
const filing = (accountId: number, from: SpecialUse | null, to: SpecialUse | null): Filing => ({
  kind: 'move',
  src: inAccount(accountId, from),
  dst: inAccount(accountId, to),
  uids: [1],
});

test("an account's judgements reach the sinks in the order they were made, even when a sink is slow", async () => {
  const learned: string[] = [];
  let calls = 0;
  // The first learn (the move into Junk) takes a while, as a big message's content scan does.
  const sink: FeedbackSink = {
    name: 'slow-first',
    async learn(f) {
      if (calls++ === 0) await new Promise((r) => setTimeout(r, 100));
      learned.push(`${f.accountId} ${f.class}`);
    },
  };
  const feedback = junkFeedback({ mail: fakeMail(), sinks: [sink], log: silentLogger });
  // INBOX -> Junk -> INBOX: the user's last word is ham. Another account is not held up by the first.
  void feedback.observe(filing(1, null, '\\Junk'));
  void feedback.observe(filing(1, '\\Junk', null));
  void feedback.observe(filing(2, null, '\\Junk'));
  await feedback.settled();
  assert.deepEqual(learned, ['2 spam', '1 spam', '1 ham']);
});

test('a failing judgement does not stop the ones queued after it', async () => {
  const learned: string[] = [];
  const mail = fakeMail();
  let reads = 0;
  const readMany = mail.readMany.bind(mail);
  mail.readMany = async (recs) => {
    if (reads++ === 0) throw new Error('store down');
    return readMany(recs);
  };
  const sink: FeedbackSink = { name: 'list', learn: async (f) => void learned.push(f.class) };
  const feedback = junkFeedback({ mail, sinks: [sink], log: silentLogger });
  void feedback.observe(filing(1, null, '\\Junk'));
  void feedback.observe(filing(1, '\\Junk', null));
  await feedback.settled();
  assert.deepEqual(learned, ['ham']);
});
