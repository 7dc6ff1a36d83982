// oidc-provider's storage adapter over the oauth sub-store: each model kind in one table, expiry enforced on
// read (a purge removes old rows), one-time use recorded as `consumed`, grants revoked as a whole.
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

export function sqlAdapter(store: OAuthStore, now: () => number = Date.now): new (name: string) => ProviderAdapter {
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
        await store.destroyModel('Grant', m.grantId);
      }
      throw new errors.InvalidGrant(`${label} already used`);
    }
    async destroy(id: string) {
      await store.destroyModel(this.kind, id);
    }
    async revokeByGrantId(grantId: string) {
      await store.revokeGrant(grantId);
    }
  };
}
