// The IMAP SEARCH, SORT and THREAD engine the command handlers call (api.ts is the contract).
import type { MessageRecord } from '../../core/model.ts';
import type { StoredBody } from '../../core/ports.ts';
import type { MailService } from '../../mailbox/service.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import type { ParseResult, SearchEngine, SearchQuery, SearchSnapshot, ThreadNode } from './api.ts';
import { Evaluator } from './evaluate.ts';
import { eachBody, envelopeOf, headersOf } from './message-data.ts';
import { checkCharset, parseCriteria, parseSearch } from './parse.ts';
import type { Program } from './program.ts';
import { parseSort, type SortCriterion, sentDate, sortMessages } from './sort.ts';
import { orderedSubject, references, type ThreadMessage } from './thread.ts';

export type { SearchKey } from './program.ts';
export { SUPPORTED_CHARSETS } from './program.ts';

/** True when the query has a MODSEQ key: SEARCH then reports the highest mod-sequence (RFC 7162 section 3.1.5). */
export function usesModseq(q: SearchQuery): boolean {
  return (q.program as Program).usesModseq;
}

/** The indices (into snap.messages) of the messages the query matches. */
function run(mail: MailService, snap: SearchSnapshot, q: SearchQuery): Promise<number[]> {
  return new Evaluator(mail, snap).run((q.program as Program).root);
}

/** THREAD arguments: thread-alg SP charset 1*(SP search-key) (RFC 5256 section 5). */
function parseThread(
  args: ImapValue[],
  _opts: { utf8: boolean },
): ParseResult<{ algorithm: 'REFERENCES' | 'ORDEREDSUBJECT'; query: SearchQuery }> {
  const alg = args[0]?.type === 'atom' ? args[0].value.toUpperCase() : '';
  if (alg !== 'REFERENCES' && alg !== 'ORDEREDSUBJECT') return { ok: false, error: 'Unknown threading algorithm' };
  const cs = checkCharset(args[1]);
  if (!cs.ok) return cs;
  const q = parseCriteria(args, 2, cs.value);
  if (!q.ok) return q;
  return { ok: true, value: { algorithm: alg, query: q.value } };
}

// A msg-id's "<...>" content without blanks (as delivery stored References and In-Reply-To).
const MSG_ID = /<([^<>]*)>/;

/** RFC 5256 REFERENCES: <"a"@b> and <a@b> are the same id, so a quoted local part is unquoted. */
export function normalizeMessageId(id: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"(@.*)?$/.exec(id);
  return m ? m[1].replace(/\\(.)/g, '$1') + (m[2] ?? '') : id;
}

function threadMessage(rec: MessageRecord, seq: number, body: StoredBody | undefined): ThreadMessage {
  if (!body) return { uid: rec.uid, seq, messageId: null, refs: [], subject: '', date: rec.internalDate };
  const h = headersOf(body);
  const raw = envelopeOf(body).messageId;
  const m = raw === null ? null : MSG_ID.exec(raw);
  const id = m ? m[1].replace(/\s+/g, '') : '';
  const refs = h.references.length > 0 ? h.references : h.inReplyTo.slice(0, 1);
  return {
    uid: rec.uid,
    seq,
    messageId: id === '' ? null : normalizeMessageId(id),
    refs: refs.map(normalizeMessageId),
    subject: h.subject,
    date: sentDate(rec, body),
  };
}

export const searchEngine: SearchEngine = {
  parseSearch,
  usesModseq,

  async search(mail, snap, q) {
    return (await run(mail, snap, q)).map((i) => snap.messages[i].uid);
  },

  parseSort,

  async sort(mail, snap, keys, q) {
    const idx = await run(mail, snap, q);
    const order = await sortMessages(mail, snap.messages, idx, keys as SortCriterion[]);
    return order.map((i) => snap.messages[i].uid);
  },

  parseThread,

  async thread(mail, snap, algorithm, q): Promise<ThreadNode[]> {
    const idx = await run(mail, snap, q);
    const msgs: ThreadMessage[] = [];
    await eachBody(
      mail,
      idx.map((i) => snap.messages[i]),
      (rec, body, j) => msgs.push(threadMessage(rec, idx[j] + 1, body)),
    );
    return algorithm === 'REFERENCES' ? references(msgs) : orderedSubject(msgs);
  },
};
