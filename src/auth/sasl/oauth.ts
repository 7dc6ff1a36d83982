// Bearer-token mechanisms: OAUTHBEARER (RFC 7628) and Google's XOAUTH2, which Outlook, Thunderbird and
// most phone clients still send. The token is checked by the Authenticator (Petrel's own OpenID provider
// or a configured external identity provider).
import { sameAccount } from '../limiter.ts';
import { type Mechanism, SaslError } from './types.ts';

/** RFC 7628 section 3.2.2: the failure status a client reads before it sends the dummy response. */
function oauthError(scope: string): Buffer {
  return Buffer.from(JSON.stringify({ status: 'invalid_token', schemes: 'bearer', scope }));
}

/** Parses "auth=Bearer <token>" out of \x01-separated key=value pairs. */
function bearerFrom(kvpairs: string[]): string | null {
  for (const kv of kvpairs) {
    const m = /^auth=Bearer +([\x21-\x7e]+)$/i.exec(kv);
    if (m) return m[1];
  }
  return null;
}

async function signIn(
  auth: Parameters<Mechanism['run']>[0],
  peer: Parameters<Mechanism['run']>[1],
  io: Parameters<Mechanism['run']>[3],
  name: string,
  user: string,
  token: string,
  failure: Buffer,
) {
  auth.gate(null, peer, name);
  const signedIn = await auth.bearer(token, peer);
  const ok = signedIn !== null && (!user || sameAccount(user, signedIn.account.address));
  await auth.record(user || signedIn?.account.address || '', peer, ok, name);
  if (!ok) {
    // The client answers the error challenge with a dummy response (\x01 or empty), then gets the failure.
    await io.next(failure).catch(() => {});
    throw new SaslError('credentials', 'Authentication failed');
  }
  return signedIn!;
}

export const OAUTHBEARER: Mechanism = {
  name: 'OAUTHBEARER',
  // A bearer token signs in whoever holds it: never over plaintext to another host.
  plaintext: true,
  async run(auth, peer, initial, io) {
    const msg = (initial ?? (await io.next(Buffer.alloc(0)))).toString('utf8');
    // gs2-header "n,a=user," (or "y,..."; "p=" is channel binding, which OAUTHBEARER does not use), then kvpairs.
    const m = /^([ny]),(?:a=([^,]*))?,\x01(.*)\x01$/s.exec(msg);
    if (!m) throw new SaslError('malformed', 'Malformed OAUTHBEARER message');
    const user = (m[2] ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=');
    const token = bearerFrom(m[3].split('\x01'));
    if (!token) throw new SaslError('malformed', 'No bearer token in the OAUTHBEARER message');
    return signIn(auth, peer, io, 'OAUTHBEARER', user, token, oauthError(auth.mailScope));
  },
};

export const XOAUTH2: Mechanism = {
  name: 'XOAUTH2',
  plaintext: true,
  async run(auth, peer, initial, io) {
    const msg = (initial ?? (await io.next(Buffer.alloc(0)))).toString('utf8');
    // "user=" user ^A "auth=Bearer " token ^A ^A
    const parts = msg.split('\x01');
    const userKv = parts.find((p) => p.startsWith('user='));
    const token = bearerFrom(parts);
    if (!userKv || !token) throw new SaslError('malformed', 'Malformed XOAUTH2 message');
    return signIn(
      auth,
      peer,
      io,
      'XOAUTH2',
      userKv.slice(5),
      token,
      Buffer.from(JSON.stringify({ status: '401', schemes: 'Bearer', scope: auth.mailScope })),
    );
  },
};
