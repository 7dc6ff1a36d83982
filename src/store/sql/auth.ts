// The auth sub-store in SQL: app passwords and per-account secrets (SCRAM verifier, TOTP, recovery codes).
import type { AccountSecrets, AppPassword, AuthStore } from '../../core/auth-port.ts';
import type { Row, SqlDriver, SqlValue } from './driver.ts';

/** The methods that write (the SQLite store runs them on its writer thread). */
export const AUTH_WRITES = [
  'createAppPassword',
  'deleteAppPassword',
  'touchAppPassword',
  'setScram',
  'setTotp',
  'useRecoveryCode',
] as const;

function appPassword(r: Row): AppPassword {
  return {
    id: Number(r.id),
    accountId: Number(r.account_id),
    name: String(r.name),
    protocols: r.protocols ? String(r.protocols).split(',') : null,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null || r.last_used_at === undefined ? null : Number(r.last_used_at),
  };
}

const codes = (v: unknown): string[] => (v ? String(v).split(',').filter(Boolean) : []);

export function authStore(db: SqlDriver): AuthStore {
  // Insert-or-update of one column of account_secrets, the same on both dialects.
  const upsert = async (accountId: number, set: string, params: SqlValue[]) => {
    await db.transaction(async (tx) => {
      await tx.run(
        db.dialect === 'postgres'
          ? 'INSERT INTO account_secrets (account_id) VALUES (?) ON CONFLICT DO NOTHING'
          : 'INSERT OR IGNORE INTO account_secrets (account_id) VALUES (?)',
        [accountId],
      );
      await tx.run(`UPDATE account_secrets SET ${set} WHERE account_id = ?`, [...params, accountId]);
    });
  };
  return {
    async createAppPassword(p) {
      const now = Date.now();
      const protocols = p.protocols?.length ? p.protocols.join(',') : null;
      const r = await db.get(
        'INSERT INTO app_passwords (account_id, name, hash, protocols, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
        [p.accountId, p.name, p.hash, protocols, now],
      );
      return appPassword(r!);
    },
    async listAppPasswords(accountId) {
      return (await db.all('SELECT * FROM app_passwords WHERE account_id = ? ORDER BY id', [accountId])).map(
        appPassword,
      );
    },
    async findAppPassword(hash) {
      const r = await db.get('SELECT * FROM app_passwords WHERE hash = ?', [hash]);
      return r ? appPassword(r) : undefined;
    },
    async deleteAppPassword(accountId, id) {
      return (await db.run('DELETE FROM app_passwords WHERE id = ? AND account_id = ?', [id, accountId])) > 0;
    },
    async touchAppPassword(id, at) {
      await db.run('UPDATE app_passwords SET last_used_at = ? WHERE id = ?', [at, id]);
    },
    async getSecrets(accountId): Promise<AccountSecrets> {
      const r = await db.get('SELECT * FROM account_secrets WHERE account_id = ?', [accountId]);
      return {
        scramSha256: (r?.scram_sha256 as string | null) ?? null,
        totpSecret: (r?.totp_secret as string | null) ?? null,
        totpEnabled: Number(r?.totp_enabled ?? 0) === 1,
        recoveryCodes: codes(r?.recovery_codes),
      };
    },
    async setScram(accountId, verifier) {
      await upsert(accountId, 'scram_sha256 = ?', [verifier]);
    },
    async setTotp(accountId, t) {
      await upsert(accountId, 'totp_secret = ?, totp_enabled = ?, recovery_codes = ?', [
        t.secret,
        t.enabled && t.secret ? 1 : 0,
        t.recoveryCodes.join(','),
      ]);
    },
    async useRecoveryCode(accountId, codeHash) {
      return db.transaction(async (tx) => {
        const r = await tx.get(
          `SELECT recovery_codes FROM account_secrets WHERE account_id = ?${db.dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
          [accountId],
        );
        const list = codes(r?.recovery_codes);
        const i = list.indexOf(codeHash);
        if (i < 0) return false;
        list.splice(i, 1);
        await tx.run('UPDATE account_secrets SET recovery_codes = ? WHERE account_id = ?', [list.join(','), accountId]);
        return true;
      });
    },
  };
}
