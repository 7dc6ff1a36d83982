// ENABLE (RFC 5161): CONDSTORE, QRESYNC (implies CONDSTORE, RFC 7162 section 3.2.3), UTF8=ACCEPT
// (RFC 6855; not while a mailbox is selected), IMAP4rev2 (RFC 9051 section 6.3.1).
import { ArgError, atom } from '../args.ts';
import type { Handler } from '../commands.ts';

const KNOWN = ['CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT', 'IMAP4REV2'];

export const enable: Handler = async (s, cmd) => {
  if (cmd.args.length === 0) throw new ArgError('ENABLE needs at least one capability');
  const now: string[] = [];
  for (const a of cmd.args) {
    const name = atom(a, 'a capability').toUpperCase();
    if (!KNOWN.includes(name) || s.enabled.has(name)) continue;
    if (name === 'UTF8=ACCEPT' && s.selected) continue; // RFC 6855 section 3: only before SELECT
    s.enabled.add(name);
    now.push(name === 'IMAP4REV2' ? 'IMAP4rev2' : name);
    if (name === 'QRESYNC' && !s.enabled.has('CONDSTORE')) s.enabled.add('CONDSTORE');
  }
  s.push(`* ENABLED${now.length ? ` ${now.join(' ')}` : ''}\r\n`);
  if (s.enabled.has('CONDSTORE')) s.enableCondstore();
  return undefined;
};
