// One-click "Not spam" links of the daily Junk report (mailbox/junk-report.ts), as the quarantine reports
// of Proxmox Mail Gateway and mailcow have them: each names one message in one account's Junk mailbox and
// is signed with a server key (HMAC-SHA-256, kept in the store so every node checks every node's links),
// so it needs no sign-in, works from a POP3 user's mail, and can do one thing only: move that message to
// that account's INBOX, until it expires with the Junk retention. The link opens a page whose button posts
// it: link scanners that prefetch URLs must not release mail.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { OAuthStore } from '../core/oauth-port.ts';

export interface ReleaseClaims {
  accountId: number;
  mailboxId: number;
  uid: number;
  /** ms since the epoch (kept to the second). */
  expiresAt: number;
}

/** The signing key, made by the first node that needs it. */
export function releaseKey(store: Pick<OAuthStore, 'ensureSecret'>): Promise<string> {
  return store.ensureSecret('junk-release', randomBytes(32).toString('base64url'));
}

const mac = (key: string, payload: string) =>
  createHmac('sha256', key).update(`junk-release:${payload}`).digest('base64url').slice(0, 27);

export function releaseToken(key: string, c: ReleaseClaims): string {
  const payload = `${c.accountId}.${c.mailboxId}.${c.uid}.${Math.floor(c.expiresAt / 1000)}`;
  return `${payload}.${mac(key, payload)}`;
}

/** The claims of a token that is well-formed, signed with `key` and not expired at `now`; else null. */
export function verifyReleaseToken(key: string, token: string, now: number): ReleaseClaims | null {
  const m = /^(\d{1,15})\.(\d{1,15})\.(\d{1,10})\.(\d{1,12})\.([A-Za-z0-9_-]{27})$/.exec(token.trim());
  if (!m) return null;
  const payload = `${m[1]}.${m[2]}.${m[3]}.${m[4]}`;
  const want = Buffer.from(mac(key, payload));
  const got = Buffer.from(m[5]);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
  const claims = {
    accountId: Number(m[1]),
    mailboxId: Number(m[2]),
    uid: Number(m[3]),
    expiresAt: Number(m[4]) * 1000,
  };
  return claims.expiresAt > now ? claims : null;
}
