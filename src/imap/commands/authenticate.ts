// AUTHENTICATE (RFC 9051 section 6.2.2) with PLAIN (RFC 4616) and SASL-IR (RFC 4959). The exchange
// reads continuation lines itself; `*` cancels.
import { decodePlain } from '../../auth/sasl-plain.ts';
import { ArgError, atom, text } from '../args.ts';
import type { Handler } from '../commands.ts';
import { completeLogin } from './login.ts';

const MAX_RESPONSE = 8192;

export const authenticate: Handler = async (s, cmd) => {
  const mech = atom(cmd.args[0], 'a SASL mechanism').toUpperCase();
  if (cmd.args.length > 2) throw new ArgError('too many arguments');
  if (mech !== 'PLAIN') return { status: 'NO', text: 'Unsupported authentication mechanism' };
  if (!s.loginAllowed) return { status: 'NO', code: 'PRIVACYREQUIRED', text: 'Use STARTTLS first' };
  let response: string;
  if (cmd.args.length === 2) {
    response = text(cmd.args[1], 'an initial response');
    if (response === '=') response = ''; // RFC 4959: empty initial response
  } else {
    s.push('+ \r\n');
    await s.flush();
    response = (await s.conn.readLine(MAX_RESPONSE)).bytes.toString('latin1');
  }
  if (response === '*') return { status: 'BAD', text: 'Authentication cancelled' };
  const creds = decodePlain(response);
  if (!creds) return { status: 'BAD', text: 'Malformed PLAIN response' };
  return completeLogin(s, creds.authcid, creds.password, creds.authzid);
};
