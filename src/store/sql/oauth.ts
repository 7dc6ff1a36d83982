// The oauth sub-store in SQL: the OpenID Provider's models (with expiry), its secrets, TOTP replay marks.
import type { OAuthModel, OAuthStore } from '../../core/oauth-port.ts';
import type { Row, SqlDriver } from './driver.ts';

/** The methods that write (the SQLite store runs them on its writer thread). */
export const OAUTH_WRITES = [
  'upsertModel',
  'consumeModel',
  'destroyModel',
  'revokeGrant',
  'revokeAccount',
  'purgeExpired',
  'ensureSecret',
  'claimTotpStep',
] as const;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function model(r: Row): OAuthModel {
  return {
    kind: String(r.kind),
    id: String(r.id),
    payload: String(r.payload),
    grantId: str(r.grant_id),
    userCode: str(r.user_code),
    uid: str(r.uid),
    expiresAt: num(r.expires_at),
    consumedAt: num(r.consumed_at),
  };
}

const LIVE = '(expires_at IS NULL OR expires_at > ?)';

export function oauthStore(db: SqlDriver): OAuthStore {
  const findBy = async (column: 'id' | 'user_code' | 'uid', kind: string, value: string, now: number) => {
    const r = await db.get(`SELECT * FROM oauth_models WHERE kind = ? AND ${column} = ? AND ${LIVE}`, [
      kind,
      value,
      now,
    ]);
    return r ? model(r) : undefined;
  };
  return {
    async upsertModel(m) {
      await db.run(
        `INSERT INTO oauth_models (kind, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
         ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        [m.kind, m.id, m.payload, m.grantId, m.userCode, m.uid, m.expiresAt],
      );
    },
    findModel: (kind, id, now) => findBy('id', kind, id, now),
    findModelByUserCode: (kind, userCode, now) => findBy('user_code', kind, userCode, now),
    findModelByUid: (kind, uid, now) => findBy('uid', kind, uid, now),
    async consumeModel(kind, id, at) {
      // Only an unused model changes: of two concurrent redemptions, one updates the row and the other none.
      return (
        (await db.run('UPDATE oauth_models SET consumed_at = ? WHERE kind = ? AND id = ? AND consumed_at IS NULL', [
          at,
          kind,
          id,
        ])) > 0
      );
    },
    async destroyModel(kind, id) {
      await db.run('DELETE FROM oauth_models WHERE kind = ? AND id = ?', [kind, id]);
    },
    revokeGrant: (grantId) => db.run('DELETE FROM oauth_models WHERE grant_id = ?', [grantId]),
    // oidc-provider writes the account id as a string, our own records as a number: both read back as text.
    revokeAccount: (accountId, keep) =>
      db.run(
        `${
          db.dialect === 'postgres'
            ? "DELETE FROM oauth_models WHERE (payload::jsonb ->> 'accountId') = ?"
            : "DELETE FROM oauth_models WHERE CAST(json_extract(payload, '$.accountId') AS TEXT) = ?"
        }${keep ? ' AND NOT (kind = ? AND id = ?)' : ''}`,
        keep ? [String(accountId), keep.kind, keep.id] : [String(accountId)],
      ),
    purgeExpired: (now) => db.run('DELETE FROM oauth_models WHERE expires_at IS NOT NULL AND expires_at <= ?', [now]),
    async ensureSecret(name, candidate) {
      return db.transaction(async (tx) => {
        await tx.run('INSERT INTO oauth_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [
          name,
          candidate,
        ]);
        const r = await tx.get<{ value: string }>('SELECT value FROM oauth_secrets WHERE name = ?', [name]);
        return String(r!.value);
      });
    },
    async claimTotpStep(accountId, step) {
      return db.transaction(async (tx) => {
        await tx.run(
          'INSERT INTO totp_last_step (account_id, step) VALUES (?, -1) ON CONFLICT (account_id) DO NOTHING',
          [accountId],
        );
        // Only a step later than the last accepted one moves the mark: a replay changes no row.
        return (
          (await tx.run('UPDATE totp_last_step SET step = ? WHERE account_id = ? AND step < ?', [
            step,
            accountId,
            step,
          ])) > 0
        );
      });
    },
  };
}
