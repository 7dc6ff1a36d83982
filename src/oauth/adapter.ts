// oidc-provider's storage adapter over the oauth sub-store: each model kind in one table, expiry enforced on
// read (a purge removes old rows), one-time use recorded as `consumed`, grants revoked as a whole.
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
      await store.consumeModel(this.kind, id, now());
    }
    async destroy(id: string) {
      await store.destroyModel(this.kind, id);
    }
    async revokeByGrantId(grantId: string) {
      await store.revokeGrant(grantId);
    }
  };
}
