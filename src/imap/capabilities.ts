// The CAPABILITY list, which depends on the session's state (RFC 9051 section 7.2.2).

interface CapabilityView {
  state: string;
  loginAllowed: boolean;
  compressed: boolean;
  conn: { secure: boolean };
  ctx: { tls: unknown; appendLimit: number };
}

import { offeredMechanisms } from '../auth/sasl/index.ts';

const BASE = 'IMAP4rev2 IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE';

const AFTER_LOGIN = [
  'NAMESPACE',
  'UIDPLUS',
  'MOVE',
  'UNSELECT',
  'CHILDREN',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'SPECIAL-USE',
  'CREATE-SPECIAL-USE',
  'CONDSTORE',
  'QRESYNC',
  'ESEARCH',
  'SEARCHRES',
  'SORT',
  // RFC 5957: DISPLAYFROM and DISPLAYTO (search/sort.ts), which a client may only send when this is listed.
  'SORT=DISPLAY',
  // RFC 5267 section 3: SORT RETURN (...) (commands/sort.ts). Not CONTEXT=SEARCH/SORT: no UPDATE contexts.
  'ESORT',
  // RFC 9394: RETURN (PARTIAL range) of SEARCH and SORT (commands/search-return.ts), UID FETCH (PARTIAL range)
  // (commands/fetch.ts).
  'PARTIAL',
  'THREAD=REFERENCES',
  'THREAD=ORDEREDSUBJECT',
  'QUOTA',
  'QUOTA=RES-STORAGE',
  'QUOTA=RES-MESSAGE',
  'UTF8=ACCEPT',
  'OBJECTID',
  'SAVEDATE',
  'STATUS=SIZE',
  'BINARY',
  'WITHIN',
  'PREVIEW',
  'MULTIAPPEND',
  'CATENATE',
  'URL-PARTIAL',
].join(' ');

export function capabilities(s: CapabilityView): string {
  let c = BASE;
  if (s.state === 'notauth') {
    if (!s.conn.secure && s.ctx.tls) c += ' STARTTLS';
    for (const m of offeredMechanisms(s.loginAllowed)) c += ` AUTH=${m}`;
    if (!s.loginAllowed) c += ' LOGINDISABLED';
    return c;
  }
  c += ` ${AFTER_LOGIN} APPENDLIMIT=${s.ctx.appendLimit}`;
  if (!s.compressed) c += ' COMPRESS=DEFLATE';
  return c;
}
