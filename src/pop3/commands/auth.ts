// AUTH [mechanism [initial-response]] (RFC 5034 section 4): AUTHORIZATION state. With no argument, lists the
// mechanisms (as most servers do; clients such as fetchmail probe that way). Otherwise runs the SASL exchange
// of src/auth/sasl: "+ base64" challenges, base64 responses, "*" cancels. Mechanisms that carry a readable
// secret (PLAIN, LOGIN, bearer tokens) are offered only over TLS or from loopback when
// pop3.allow_plaintext_loopback is set; SCRAM-SHA-256 always.
import { findMechanism, offeredMechanisms, runSasl } from '../../auth/sasl/index.ts';
import { SaslError, type SaslPeer, type SaslSuccess } from '../../auth/sasl/types.ts';
import { LineTooLongError } from '../../net/connection.ts';
import { parseSaslResponse } from '../../protocol/pop3/command.ts';
import { challenge, multiLine } from '../../protocol/pop3/response.ts';
import type { Handler } from '../commands.ts';
import type { Pop3Session } from '../session.ts';

/** SASL responses may be longer than command lines (RFC 5034 section 4); bounded all the same. */
export const MAX_RESPONSE = 16 * 1024;

/** Mechanisms usable on this connection now (CAPA SASL, AUTH with no argument). */
export function mechanisms(s: Pop3Session): string[] {
  return offeredMechanisms(s.plaintextAllowed);
}

export function peerOf(s: Pop3Session): SaslPeer {
  return { protocol: 'pop3', ip: s.conn.remoteAddress, secure: s.conn.secure };
}

/** Shared by AUTH and USER/PASS: the reply for a sign-in attempt's outcome. */
export async function finishLogin(s: Pop3Session, attempt: Promise<SaslSuccess>, how: string): Promise<void> {
  let ok: SaslSuccess;
  try {
    ok = await attempt;
  } catch (e) {
    if (!(e instanceof SaslError)) throw e;
    if (e.kind === 'locked') return s.reject(e.message, 'SYS/TEMP');
    if (e.kind === 'credentials') return s.loginFailed();
    return s.loginFailed(e.message);
  }
  await s.login(ok, how);
}

export const auth: Handler<'AUTH'> = async (s, cmd) => {
  if (cmd.mechanism === null) {
    await s.send(multiLine('Mechanisms follow', mechanisms(s)));
    return;
  }
  const mech = findMechanism(cmd.mechanism);
  if (!mech) {
    await s.reject('Unsupported authentication mechanism');
    return;
  }
  if (mech.plaintext && !s.plaintextAllowed) {
    await s.reject('Plaintext authentication requires TLS: use STLS first', 'AUTH');
    return;
  }
  let initial: Buffer | null = null;
  if (cmd.initial !== null) {
    const r = parseSaslResponse(cmd.initial, true);
    if (r === null || r === 'cancel') {
      await s.reject('Invalid base64 in the initial response');
      return;
    }
    initial = Buffer.from(r, 'base64');
  }
  const io = {
    next: async (data: Buffer) => {
      await s.send(challenge(data));
      await s.flush();
      let line: string;
      try {
        line = (await s.conn.readLine(MAX_RESPONSE)).bytes.toString('latin1');
      } catch (e) {
        if (e instanceof LineTooLongError) throw new SaslError('malformed', 'Response too long');
        throw e;
      }
      const r = parseSaslResponse(line, false);
      if (r === 'cancel') throw new SaslError('cancelled', 'Authentication cancelled');
      if (r === null) throw new SaslError('malformed', 'Invalid base64 in the response');
      return Buffer.from(r, 'base64');
    },
  };
  await finishLogin(s, runSasl(mech, s.deps.auth, peerOf(s), initial, io), `AUTH ${mech.name}`);
};
