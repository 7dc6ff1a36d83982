// oidc-provider's storage adapter over the oauth sub-store: each model kind in one table, expiry enforced on
// read (a purge removes old rows), one-time use recorded as `consumed`, grants revoked as a whole; a grant
// destroyed is told to its account's mail sessions (those signed in with one of its tokens then end).
import { errors } from 'oidc-provider';
import type { OAuthModel, OAuthStore } from '../core/oauth-port.ts';

type Payload = Record<string, unknown>;

/** The adapter interface oidc-provider instantiates per model name (see its adapters/memory_adapter.js). */
export interface ProviderAdapter {
  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Payload | undefined>;
  findByUserCode(userCode: string): Promise<Payload | undefined>;
  findByUid(uid: string): Promise<Payload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

function read(m: OAuthModel | undefined): Payload | undefined {
  if (!m) return undefined;
  const p = JSON.parse(m.payload) as Payload;
  // oidc-provider reads `consumed` (epoch seconds) to refuse a second use of a code or refresh token.
  if (m.consumedAt !== null) p.consumed = Math.floor(m.consumedAt / 1000);
  return p;
}

/** The one-time grant sources a token request redeems, as oidc-provider names them. */
const REDEEMED: Record<string, string> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
};

const s = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The account a grant's payload names (oidc-provider keeps the subject as a string), or null. */
function grantAccount(m: OAuthModel | undefined): number | null {
  const id = m ? (JSON.parse(m.payload) as Payload).accountId : null;
  return typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : null;
}

export function sqlAdapter(
  store: OAuthStore,
  opts: {
    now?: () => number;
    /**
     * A grant was revoked (DirectoryService.accountChanged): its account's IMAP, POP3 and SMTP sessions ask
     * AuthService.stillSignedIn, which finds the grant gone for those signed in with its tokens.
     */
    grantRevoked?: (accountId: number) => void;
  } = {},
): new (
  name: string,
) => ProviderAdapter {
  const now = opts.now ?? Date.now;
  /**
   * Every revocation of a grant comes here: oidc-provider's helpers/revoke.js destroys the Grant (a refresh
   * token given back at /oauth/revoke, RFC 7009; a logout at the end-session endpoint, for grants without
   * offline access; a reused code or refresh token), and so does consume below. Told after the row is gone,
   * so the sessions' check finds it gone. A grant that merely expires is told nobody: its sessions go on
   * until the account's next change.
   */
  async function destroyGrant(grantId: string): Promise<void> {
    const accountId = grantAccount(await store.findModel('Grant', grantId, now()));
    await store.destroyModel('Grant', grantId);
    if (accountId !== null) opts.grantRevoked?.(accountId);
  }
  return class SqlAdapter implements ProviderAdapter {
    private readonly kind: string;
    constructor(name: string) {
      this.kind = name;
    }
    async upsert(id: string, payload: Payload, expiresIn?: number) {
      await store.upsertModel({
        kind: this.kind,
        id,
        payload: JSON.stringify(payload),
        grantId: s(payload.grantId),
        userCode: s(payload.userCode),
        uid: s(payload.uid),
        expiresAt: expiresIn ? now() + expiresIn * 1000 : null,
      });
    }
    async find(id: string) {
      return read(await store.findModel(this.kind, id, now()));
    }
    async findByUserCode(userCode: string) {
      return read(await store.findModelByUserCode(this.kind, userCode, now()));
    }
    async findByUid(uid: string) {
      return read(await store.findModelByUid(this.kind, uid, now()));
    }
    async consume(id: string) {
      const label = REDEEMED[this.kind];
      const first = await store.consumeModel(this.kind, id, now());
      if (first || !label) return;
      // oidc-provider reads `consumed` before it consumes: concurrent requests all pass that check, and only
      // this update tells the one that came first. The others are a reuse: refused, and the grant revoked with
      // every token of it (RFC 6749 sections 4.1.2 and 10.5, RFC 9700 section 4.14.2).
      const m = await store.findModel(this.kind, id, now());
      if (m?.grantId) {
        await store.revokeGrant(m.grantId);
        await destroyGrant(m.grantId);
      }
      throw new errors.InvalidGrant(`${label} already used`);
    }
    async destroy(id: string) {
      if (this.kind === 'Grant') await destroyGrant(id);
      else await store.destroyModel(this.kind, id);
    }
    async revokeByGrantId(grantId: string) {
      await store.revokeGrant(grantId);
    }
  };
}
