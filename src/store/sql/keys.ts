// The keys sub-store in SQL (see core/key-port.ts): DKIM keys per domain and selector, ACME state by name.
import type { AcmeEntry, KeyStore, StoredDkimKey } from '../../core/key-port.ts';
import type { SqlDriver } from './driver.ts';

/** The methods that write (the SQLite store runs them on its writer thread). */
export const KEY_WRITES = ['putDkimKey', 'removeDkimKey', 'putAcme', 'deleteAcme'] as const;

type DkimRow = { domain: string; selector: string; private_key: string; created_at: number | string };
type AcmeRow = { name: string; value: string; updated_at: number | string };

const dkimKey = (r: DkimRow): StoredDkimKey => ({
  domain: r.domain,
  selector: r.selector,
  privateKey: r.private_key,
  createdAt: Number(r.created_at),
});
const acmeEntry = (r: AcmeRow): AcmeEntry => ({ name: r.name, value: r.value, updatedAt: Number(r.updated_at) });

/** A LIKE pattern matching names that start with `prefix` literally. */
const startsWith = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function keyStore(db: SqlDriver): KeyStore {
  return {
    async dkimKeys(domain) {
      const rows = await db.all<DkimRow>('SELECT * FROM dkim_keys WHERE domain = ? ORDER BY created_at, selector', [
        domain,
      ]);
      return rows.map(dkimKey);
    },
    async putDkimKey(k, replace) {
      const n = await db.run(
        `INSERT INTO dkim_keys (domain, selector, private_key, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (domain, selector) DO ${replace ? 'UPDATE SET private_key = excluded.private_key, created_at = excluded.created_at' : 'NOTHING'}`,
        [k.domain, k.selector, k.privateKey, k.createdAt],
      );
      return n > 0;
    },
    async removeDkimKey(domain, selector) {
      return (await db.run('DELETE FROM dkim_keys WHERE domain = ? AND selector = ?', [domain, selector])) > 0;
    },
    async getAcme(name) {
      const r = await db.get<AcmeRow>('SELECT * FROM acme_state WHERE name = ?', [name]);
      return r ? acmeEntry(r) : null;
    },
    async listAcme(prefix) {
      const rows = await db.all<AcmeRow>("SELECT * FROM acme_state WHERE name LIKE ? ESCAPE '\\' ORDER BY name", [
        startsWith(prefix),
      ]);
      return rows.map(acmeEntry);
    },
    async putAcme(name, value, updatedAt) {
      await db.run(
        `INSERT INTO acme_state (name, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [name, value, updatedAt],
      );
    },
    async deleteAcme(name, olderThan) {
      if (olderThan === undefined) return db.run('DELETE FROM acme_state WHERE name = ?', [name]);
      return db.run("DELETE FROM acme_state WHERE name LIKE ? ESCAPE '\\' AND updated_at < ?", [
        startsWith(name),
        olderThan,
      ]);
    },
  };
}
