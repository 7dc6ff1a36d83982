// Helpers for the synchronisation differential suite (sync-dovecot-diff.test.ts): one script of IMAP
// commands run on two sessions of each server, and transcripts made comparable (mod-sequence values,
// UIDVALIDITY and human text masked, FETCH and STATUS items in one order).
import type { RawImap } from '../helpers/imap-client.ts';

/** One command of a script; `{NAME}` in it is replaced by what an earlier step captured on that server. */
export interface Step {
  cmd: string;
  /** Which of the server's two sessions sends it (default 1). */
  on?: 1 | 2;
  /** Capture: variable name -> regex whose group 1 is taken from this step's raw answer. */
  take?: Record<string, RegExp>;
  /** Untagged responses compared in the order sent (default: as a set). */
  ordered?: boolean;
  /** The servers may answer differently here: the name of a difference the test explains. */
  differs?: string;
  /** Checks run on each server's raw answer (for relations between mod-sequences, say). */
  check?: (raw: Answer, vars: Record<string, string>) => void;
}

export interface Answer {
  lines: string[];
  tagged: string;
}

/** Runs a script on one server's two sessions; returns each step's raw answer. */
export async function runScript(
  sessions: [RawImap, RawImap],
  steps: Step[],
  prepare: (cmd: string) => string | Buffer = (c) => c,
): Promise<{ answers: Answer[]; vars: Record<string, string> }> {
  const vars: Record<string, string> = {};
  const answers: Answer[] = [];
  for (const step of steps) {
    const c = sessions[(step.on ?? 1) - 1];
    const text = step.cmd.replace(/\{(\w+)\}/g, (_, k: string) => {
      if (!(k in vars)) throw new Error(`${step.cmd}: nothing captured as ${k}`);
      return vars[k];
    });
    const data = prepare(text);
    const tag = c.nextTag();
    c.send(
      Buffer.isBuffer(data) ? Buffer.concat([Buffer.from(`${tag} `), data, Buffer.from('\r\n')]) : `${tag} ${data}\r\n`,
    );
    const r = await c.until(tag, 20000);
    const answer = { lines: r.lines, tagged: r.tagged };
    answers.push(answer);
    for (const [k, re] of Object.entries(step.take ?? {})) {
      const m = re.exec([...r.lines, r.tagged].join('\n'));
      if (!m) throw new Error(`${step.cmd}: ${k} not found in ${r.lines.join(' | ')} ${r.tagged}`);
      vars[k] = m[1];
    }
    step.check?.(answer, vars);
  }
  return { answers, vars };
}

/** `* 1 FETCH (B x A (y z))` -> items sorted by name; null when the line is no FETCH. */
function fetchItems(line: string): string[] | null {
  const m = /^\* (\d+) FETCH \((.*)\)$/s.exec(line);
  if (!m) return null;
  const s = m[2];
  const items: string[] = [];
  let i = 0;
  const value = (): string => {
    const start = i;
    if (s[i] === '(') {
      let depth = 0;
      for (; i < s.length; i++) {
        if (s[i] === '(') depth++;
        else if (s[i] === ')' && --depth === 0) break;
      }
      i++;
    } else while (i < s.length && s[i] !== ' ') i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    const name = value();
    i++;
    const v = value();
    // The order of flags in a FLAGS list carries no meaning (RFC 9051 section 7.5.2).
    items.push(name === 'FLAGS' ? `FLAGS (${v.slice(1, -1).split(' ').sort().join(' ')})` : `${name} ${v}`);
    i++;
  }
  return [`* ${m[1]} FETCH`, ...items.sort()];
}

/** What is compared of one line: codes kept, human text and server-chosen numbers masked. */
export function normalise(line: string): string {
  let l = line
    .replace(/\b(HIGHESTMODSEQ|MODSEQ) (\(?)\d+/g, '$1 $2M')
    .replace(/\b(UIDVALIDITY|APPENDUID|COPYUID) \d+/g, '$1 V');
  // `* OK [CODE] text`, `tag OK [CODE] text`: the text is each server's own.
  // MAILBOXID (RFC 8474) is ours alone: Dovecot 2.3 does not offer OBJECTID.
  const st = /^(\S+) (OK|NO|BAD|BYE)( \[[^\]]*(?:\[[^\]]*\][^\]]*)*\])?/.exec(l);
  if (st) {
    const code = st[3]?.startsWith(' [MAILBOXID ') ? '' : (st[3] ?? '');
    return `${st[1] === '*' ? '*' : 'tag'} ${st[2]}${code}`;
  }
  const f = fetchItems(l);
  if (f) return f.join(' ');
  const status = /^\* STATUS (\S+) \((.*)\)$/.exec(l);
  if (status) {
    const parts = status[2].split(' ');
    const pairs: string[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) pairs.push(`${parts[i]} ${parts[i + 1]}`);
    l = `* STATUS ${status[1]} (${pairs.sort().join(' ')})`;
  }
  return l.trimEnd();
}

/**
 * Lines one server sends that the other has no counterpart for, by RFC: Petrel's MAILBOXID (RFC 8474,
 * which Dovecot 2.3 does not offer) and Dovecot's RECENT after an expunge (RFC 3501 section 7.3.2 asks
 * for RECENT when the mailbox grows; sending it after an expunge is Dovecot's choice).
 */
export function comparable(a: Answer, cmd: string): string[] {
  const select = /^(SELECT|EXAMINE) /i.test(cmd);
  return a.lines
    .filter((l) => !l.startsWith('* OK [MAILBOXID ') && (select || !/^\* \d+ RECENT$/.test(l)))
    .map(normalise);
}
