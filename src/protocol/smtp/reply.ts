// SMTP replies (RFC 5321 section 4.2) with enhanced status codes (RFC 2034, RFC 3463): formatting only.

export interface Reply {
  code: number;
  /** Enhanced status code "class.subject.detail", or '' for replies that carry none (220, 221 greeting lines). */
  enhanced: string;
  /** One text line per reply line; never contains CR or LF. */
  lines: string[];
}

export function reply(code: number, enhanced: string, ...lines: string[]): Reply {
  return { code, enhanced, lines: lines.length ? lines : [''] };
}

/** Strips what a reply line must not carry (CR, LF, other controls) so client text can never split a reply. */
export function safeText(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, '?').slice(0, 400);
}

/**
 * Wire form: "250-first\r\n250 last\r\n" (RFC 5321 section 4.2.1). The enhanced code is repeated on each
 * line (RFC 2034 section 4) when `enhanced` is set: in every session, EHLO or not, since RFC 2034 section 5
 * has no negotiation (a server that announces ENHANCEDSTATUSCODES sends the codes to every client).
 */
export function formatReply(r: Reply): string {
  const prefix = r.enhanced ? `${r.enhanced} ` : '';
  let out = '';
  for (let i = 0; i < r.lines.length; i++) {
    const sep = i === r.lines.length - 1 ? ' ' : '-';
    out += `${r.code}${sep}${prefix}${r.lines[i]}\r\n`;
  }
  return out;
}

/** Whether a reply is a failure the client caused (counts towards the per-session error limit). */
export function isError(r: Reply): boolean {
  return r.code >= 400;
}
