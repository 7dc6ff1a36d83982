// AUTHENTICATE (RFC 9051 section 6.2.2) with SASL-IR (RFC 4959): the mechanisms of src/auth/sasl
// (SCRAM-SHA-256, PLAIN, LOGIN, OAUTHBEARER, XOAUTH2). Challenges go out as "+ base64", responses come
// back base64 on a line of their own; "*" cancels (BAD).
import { findMechanism, runSasl } from '../../auth/sasl/index.ts';
import { SaslError } from '../../auth/sasl/types.ts';
import { ArgError, atom, text } from '../args.ts';
import type { Handler } from '../commands.ts';
import { finishLogin, peerOf } from './login.ts';

/** SASL responses (a token can be long) are bounded all the same. */
const MAX_RESPONSE = 16384;

function decode(b64: string): Buffer {
  const s = b64.trim();
  if (s === '*') throw new SaslError('cancelled', 'Authentication cancelled');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new SaslError('malformed', 'Invalid base64');
  return Buffer.from(s, 'base64');
}

export const authenticate: Handler = async (s, cmd) => {
  const name = atom(cmd.args[0], 'a SASL mechanism');
  if (cmd.args.length > 2) throw new ArgError('too many arguments');
  const mech = findMechanism(name);
  if (!mech) return { status: 'NO', text: 'Unsupported authentication mechanism' };
  if (mech.plaintext && !s.loginAllowed) return { status: 'NO', code: 'PRIVACYREQUIRED', text: 'Use STARTTLS first' };
  let initial: Buffer | null = null;
  if (cmd.args.length === 2) {
    const ir = text(cmd.args[1], 'an initial response');
    // RFC 4959: "=" is an empty initial response.
    try {
      initial = ir === '=' ? Buffer.alloc(0) : decode(ir);
    } catch (e) {
      return { status: 'BAD', text: (e as Error).message };
    }
  }
  const io = {
    next: async (challenge: Buffer) => {
      s.push(`+ ${challenge.toString('base64')}\r\n`);
      await s.flush();
      return decode((await s.conn.readLine(MAX_RESPONSE)).bytes.toString('latin1'));
    },
  };
  return finishLogin(s, runSasl(mech, s.ctx.auth, peerOf(s), initial, io));
};
