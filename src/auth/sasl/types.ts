// The shapes of Petrel's one SASL implementation (RFC 4422), shared by SMTP AUTH (RFC 4954), IMAP
// AUTHENTICATE (RFC 9051 section 6.2.2) and POP3 AUTH (RFC 5034). Protocols only carry bytes: they
// base64-encode challenges, decode responses, and map the outcome to their own reply codes.
import type { Account } from '../../core/model.ts';

export type MailProtocol = 'imap' | 'smtp' | 'pop3';

/** The protocol's side of an exchange: send a challenge, get the client's (decoded) response. */
export interface SaslIo {
  /** Throws SaslError('cancelled') when the client answers "*", SaslError('malformed') on bad base64. */
  next(challenge: Buffer): Promise<Buffer>;
}

/** Who is signing in, from where: the brute-force defence and the security log need it. */
export interface SaslPeer {
  protocol: MailProtocol;
  ip: string;
  /** TLS (or implicit TLS) is on: bearer tokens and plaintext passwords require it (or allowed loopback). */
  secure: boolean;
}

export type SaslFailureKind =
  /** Wrong credentials, unknown user, disabled account, refused token: the protocol's auth failure. */
  | 'credentials'
  /** The client's message does not parse: the protocol's syntax error. */
  | 'malformed'
  /** The client sent "*". */
  | 'cancelled'
  /** Too many failures from this IP or for this account: a temporary failure, try later. */
  | 'locked';

export class SaslError extends Error {
  readonly kind: SaslFailureKind;
  constructor(kind: SaslFailureKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** How an account signed in: kept on the session (and logged) for auditing. */
export type AuthVia = 'password' | 'app-password' | 'token';

export interface SaslSuccess {
  /** The account as it was at sign-in (its password hash tells a later new password). */
  account: Account;
  via: AuthVia;
  /** Which app password (via 'app-password'): the session ends when it is revoked. */
  appPasswordId?: number;
  /** The grant of our own provider's token (via 'token'): the session ends when it is revoked. */
  grantId?: string;
}

/** The checks a mechanism asks for; AuthService implements them (counting failures, 2FA rules). */
export interface Authenticator {
  /**
   * A password (the account's, or an app password) for `username`. Null when refused; throws
   * SaslError('locked') as record does.
   */
  password(username: string, password: string, peer: SaslPeer): Promise<SaslSuccess | null>;
  /** The SCRAM-SHA-256 verifier of `username`, or null (unknown user, no verifier, 2FA on). */
  scramVerifier(username: string, peer: SaslPeer): Promise<{ account: Account; verifier: string } | null>;
  /** The sign-in a bearer token makes (via 'token'), or null. */
  bearer(token: string, peer: SaslPeer): Promise<SaslSuccess | null>;
  /**
   * Records the outcome of an exchange the authenticator did not decide itself (SCRAM proof checks). Throws
   * SaslError('locked'), whatever the outcome, when the IP or user was locked out while it was in flight.
   */
  record(username: string, peer: SaslPeer, ok: boolean, mechanism: string): Promise<void>;
  /** Throws SaslError('locked') when this IP or user is locked out. */
  gate(username: string | null, peer: SaslPeer, mechanism: string): void;
  /** Waits before a failure is reported: longer the more this IP has failed recently. */
  delayAfterFailure(peer: SaslPeer): Promise<void>;
  /** The OAuth scope a token needs for mail (named in OAUTHBEARER/XOAUTH2 error challenges). */
  readonly mailScope: string;
  /** A server secret for deterministic fake SCRAM salts of unknown users. */
  readonly secret: Buffer;
}

export interface Mechanism {
  name: string;
  /** Carries the password readable on the wire: offered only over TLS (or allowed loopback plaintext). */
  plaintext: boolean;
  /** Runs the exchange; throws SaslError on failure. `initial` is null when the client sent none. */
  run(auth: Authenticator, peer: SaslPeer, initial: Buffer | null, io: SaslIo): Promise<SaslSuccess>;
}
