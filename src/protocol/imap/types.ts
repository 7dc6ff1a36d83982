// The parsed form of an IMAP command, shared by the command parser and every handler (including
// SEARCH/SORT/THREAD criteria parsing). RFC 9051 section 9 (formal syntax).

/**
 * One argument value as the wire carried it.
 * - atom: any atom-like token, as written: keywords (FETCH, UID), numbers, NIL, flags (\Seen, $Junk),
 *   sequence sets (1:*,5, $), dates (1-Feb-2024), and fetch attributes with sections and partials, which
 *   are one atom including their bracketed section, inner parenthesised lists and <partial>:
 *   `BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>`.
 * - string: a quoted string (escapes removed) or a literal ({n}, {n+}, ~{n} for literal8); value is bytes.
 * - list: a parenthesised list.
 */
export type ImapValue =
  | { type: 'atom'; value: string }
  | { type: 'string'; value: Buffer; literal: boolean; binary: boolean }
  | { type: 'list'; items: ImapValue[] };

export interface ImapCommand {
  tag: string;
  /** Upper-case command name; UID commands are joined: 'UID FETCH', 'UID SEARCH', 'UID EXPUNGE'. */
  name: string;
  args: ImapValue[];
}

/** Text of an atom or string argument (UTF-8), or null for a list. */
export function valueText(v: ImapValue | undefined): string | null {
  if (!v) return null;
  if (v.type === 'atom') return v.value;
  if (v.type === 'string') return v.value.toString('utf8');
  return null;
}
