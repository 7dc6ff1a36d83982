// LOGOUT (RFC 9051 section 6.1.3): BYE, then the tagged OK, then the connection closes.
import type { Handler } from '../commands.ts';

export const logout: Handler = async (s, cmd) => {
  s.push('* BYE Petrel IMAP logging out\r\n');
  s.push(`${cmd.tag} OK LOGOUT completed\r\n`);
  await s.flush();
  s.state = 'logout';
  return { status: 'BYE', text: '' };
};
