// AUTH [mechanism [initial-response]] (RFC 5034 section 4): AUTHORIZATION state. With no argument, lists the
// mechanisms (as most servers do; clients such as fetchmail probe that way). Otherwise runs the SASL exchange:
// "+ base64" challenges, base64 responses, "*" cancels. PLAIN (RFC 4616) sends the password itself, so it is
// offered only over TLS or from loopback when pop3.allow_plaintext_loopback is set.

import { decodePlain } from '../../auth/sasl-plain.ts';
import type { Account } from '../../core/model.ts';
import { LineTooLongError } from '../../net/connection.ts';
import { parseSaslResponse } from '../../protocol/pop3/command.ts';
import { challenge, multiLine } from '../../protocol/pop3/response.ts';
import type { Handler } from '../commands.ts';
import type { Pop3Session } from '../session.ts';

/** SASL responses may be longer than command lines (RFC 5034 section 4); bounded all the same. */
const MAX_RESPONSE = 16 * 1024;

class SaslFailure extends Error {}

/** Sends a challenge and returns the client's base64 response; throws SaslFailure on "*" or bad base64. */
type Next = (challenge: Buffer) => Promise<string>;

interface Mechanism {
  /** Sends a password readable on the wire: only over TLS (or allowed loopback). */
  plaintext: boolean;
  /** Runs the exchange; the account on success, null when the credentials are wrong. */
  run(s: Pop3Session, initial: string | null, next: Next): Promise<Account | null>;
}

/** The mechanism table; more mechanisms (SCRAM, OAUTHBEARER) are added here. */
const MECHANISMS: Record<string, Mechanism> = {
  PLAIN: {
    plaintext: true,
    async run(s, initial, next) {
      const b64 = initial ?? (await next(Buffer.alloc(0)));
      const creds = decodePlain(b64);
      if (!creds) throw new SaslFailure('Malformed PLAIN response');
      // No proxy login: an authorization identity, if given, must be the authenticating user.
      if (creds.authzid && creds.authzid.toLowerCase() !== creds.authcid.toLowerCase()) return null;
      return s.deps.directory.authenticate(creds.authcid, creds.password);
    },
  },
};

/** Mechanisms usable on this connection now (CAPA SASL, AUTH with no argument). */
export function mechanisms(s: Pop3Session): string[] {
  return Object.entries(MECHANISMS)
    .filter(([, m]) => !m.plaintext || s.plaintextAllowed)
    .map(([name]) => name);
}

export const auth: Handler<'AUTH'> = async (s, cmd) => {
  if (cmd.mechanism === null) {
    await s.send(multiLine('Mechanisms follow', mechanisms(s)));
    return;
  }
  const mech = MECHANISMS[cmd.mechanism];
  if (!mech) {
    await s.reject('Unsupported authentication mechanism');
    return;
  }
  if (mech.plaintext && !s.plaintextAllowed) {
    await s.reject('Plaintext authentication requires TLS: use STLS first', 'AUTH');
    return;
  }
  let initial: string | null = null;
  if (cmd.initial !== null) {
    const r = parseSaslResponse(cmd.initial, true);
    if (r === null || r === 'cancel') {
      await s.reject('Invalid base64 in the initial response');
      return;
    }
    initial = r;
  }
  const next: Next = async (data) => {
    await s.send(challenge(data));
    await s.flush();
    let line: string;
    try {
      line = (await s.conn.readLine(MAX_RESPONSE)).bytes.toString('latin1');
    } catch (e) {
      if (e instanceof LineTooLongError) throw new SaslFailure('Response too long');
      throw e;
    }
    const r = parseSaslResponse(line, false);
    if (r === 'cancel') throw new SaslFailure('Authentication cancelled');
    if (r === null) throw new SaslFailure('Invalid base64 in the response');
    return r;
  };
  let account: Account | null;
  try {
    account = await mech.run(s, initial, next);
  } catch (e) {
    if (e instanceof SaslFailure) {
      await s.loginFailed(e.message);
      return;
    }
    throw e;
  }
  if (!account) {
    await s.loginFailed();
    return;
  }
  await s.login(account, `AUTH ${cmd.mechanism}`);
};
