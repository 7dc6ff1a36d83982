// DirectoryStore in SQL: tenants, domains, accounts, aliases.
import { PetrelError } from '../../core/errors.ts';
import type { Account, Alias, AliasKind, Domain, Tenant } from '../../core/model.ts';
import type { AccountPatch, DirectoryStore } from '../../core/ports.ts';
import type { Row, SqlDriver } from './driver.ts';

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toTenant(r: Row): Tenant {
  return {
    id: num(r.id),
    name: String(r.name),
    quotaBytes: numOrNull(r.quota_bytes),
    quotaMessages: numOrNull(r.quota_messages),
    createdAt: num(r.created_at),
  };
}

function toDomain(r: Row): Domain {
  return {
    id: num(r.id),
    tenantId: num(r.tenant_id),
    name: String(r.name),
    quotaBytes: numOrNull(r.quota_bytes),
    quotaMessages: numOrNull(r.quota_messages),
    disabled: Boolean(num(r.disabled)),
    createdAt: num(r.created_at),
  };
}

export function toAccount(r: Row): Account {
  return {
    id: num(r.id),
    tenantId: num(r.tenant_id),
    domainId: num(r.domain_id),
    localPart: String(r.local_part),
    address: String(r.address),
    displayName: (r.display_name as string | null) ?? null,
    passwordHash: (r.password_hash as string | null) ?? null,
    role: r.role === 'admin' ? 'admin' : 'user',
    quotaBytes: numOrNull(r.quota_bytes),
    quotaMessages: numOrNull(r.quota_messages),
    usedBytes: num(r.used_bytes),
    usedMessages: num(r.used_messages),
    modseq: num(r.modseq),
    disabled: Boolean(num(r.disabled)),
    sendAs: r.send_as === 'any' ? 'any' : r.send_as === 'domain' ? 'domain' : 'own',
    createdAt: num(r.created_at),
  };
}

/** Unique-constraint violations in either dialect become ALREADY_EXISTS. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (
    err?.code === '23505' || err?.code === 'SQLITE_CONSTRAINT_UNIQUE' || err?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

export function directoryStore(db: SqlDriver): DirectoryStore {
  const byIdOrName = (v: number | string, col: string) =>
    typeof v === 'number' ? { where: 'id = ?', arg: v } : { where: `${col} = ?`, arg: v.toLowerCase() };

  async function aliasTargets(ids: number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    if (ids.length === 0) return out;
    const rows = await db.all<{ alias_id: number; target: string }>(
      `SELECT alias_id, target FROM alias_targets WHERE alias_id IN (${ids.map(() => '?').join(',')}) ORDER BY target`,
      ids,
    );
    for (const r of rows) {
      const id = num(r.alias_id);
      const list = out.get(id) ?? [];
      list.push(r.target);
      out.set(id, list);
    }
    return out;
  }

  async function toAliases(rows: Row[]): Promise<Alias[]> {
    const targets = await aliasTargets(rows.map((r) => num(r.id)));
    return rows.map((r) => ({
      id: num(r.id),
      domainId: num(r.domain_id),
      address: String(r.address),
      kind: r.kind as AliasKind,
      targets: targets.get(num(r.id)) ?? [],
      createdAt: num(r.created_at),
    }));
  }

  return {
    async createTenant(t) {
      try {
        const r = await db.get(
          'INSERT INTO tenants (name, quota_bytes, quota_messages, created_at) VALUES (?, ?, ?, ?) RETURNING *',
          [t.name.toLowerCase(), t.quotaBytes ?? null, t.quotaMessages ?? null, Date.now()],
        );
        return toTenant(r!);
      } catch (e) {
        if (isUniqueViolation(e)) throw new PetrelError('ALREADY_EXISTS', `tenant ${t.name} already exists`);
        throw e;
      }
    },
    async getTenant(v) {
      const { where, arg } = byIdOrName(v, 'name');
      const r = await db.get(`SELECT * FROM tenants WHERE ${where}`, [arg]);
      return r ? toTenant(r) : undefined;
    },
    async listTenants() {
      return (await db.all('SELECT * FROM tenants ORDER BY name')).map(toTenant);
    },
    async updateTenantQuota(id, quotaBytes, quotaMessages) {
      await db.run('UPDATE tenants SET quota_bytes = ?, quota_messages = ? WHERE id = ?', [
        quotaBytes,
        quotaMessages,
        id,
      ]);
    },

    async createDomain(d) {
      try {
        const r = await db.get(
          'INSERT INTO domains (tenant_id, name, quota_bytes, created_at) VALUES (?, ?, ?, ?) RETURNING *',
          [d.tenantId, d.name.toLowerCase(), d.quotaBytes ?? null, Date.now()],
        );
        return toDomain(r!);
      } catch (e) {
        if (isUniqueViolation(e)) throw new PetrelError('ALREADY_EXISTS', `domain ${d.name} already exists`);
        throw e;
      }
    },
    async getDomain(v) {
      const { where, arg } = byIdOrName(v, 'name');
      const r = await db.get(`SELECT * FROM domains WHERE ${where}`, [arg]);
      return r ? toDomain(r) : undefined;
    },
    async listDomains(tenantId) {
      const rows =
        tenantId === undefined
          ? await db.all('SELECT * FROM domains ORDER BY name')
          : await db.all('SELECT * FROM domains WHERE tenant_id = ? ORDER BY name', [tenantId]);
      return rows.map(toDomain);
    },
    async updateDomainQuota(id, quotaBytes, quotaMessages) {
      await db.run('UPDATE domains SET quota_bytes = ?, quota_messages = ? WHERE id = ?', [
        quotaBytes,
        quotaMessages,
        id,
      ]);
    },
    async deleteDomain(id) {
      await db.transaction(async (tx) => {
        const acc = await tx.get('SELECT id FROM accounts WHERE domain_id = ? LIMIT 1', [id]);
        const ali = await tx.get('SELECT id FROM aliases WHERE domain_id = ? LIMIT 1', [id]);
        if (acc || ali) throw new PetrelError('CONFLICT', 'the domain still has accounts or aliases');
        if ((await tx.run('DELETE FROM domains WHERE id = ?', [id])) === 0)
          throw new PetrelError('NOT_FOUND', 'no such domain');
        // Its allow/block list entries (scope: minus the domain's id) go with it.
        if ((await tx.run('DELETE FROM spam_lists WHERE account_id = ?', [-id])) > 0)
          await tx.run('UPDATE spam_lists_version SET version = version + 1 WHERE id = 1');
      });
    },

    async createAccount(a) {
      try {
        const r = await db.get(
          `INSERT INTO accounts (tenant_id, domain_id, local_part, address, display_name, password_hash, role,
             quota_bytes, quota_messages, send_as, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          [
            a.tenantId,
            a.domainId,
            a.localPart,
            a.address.toLowerCase(),
            a.displayName ?? null,
            a.passwordHash,
            a.role ?? 'user',
            a.quotaBytes ?? null,
            a.quotaMessages ?? null,
            a.sendAs ?? 'own',
            Date.now(),
          ],
        );
        return toAccount(r!);
      } catch (e) {
        if (isUniqueViolation(e)) throw new PetrelError('ALREADY_EXISTS', `account ${a.address} already exists`);
        throw e;
      }
    },
    async getAccount(v) {
      const { where, arg } = byIdOrName(v, 'address');
      const r = await db.get(`SELECT * FROM accounts WHERE ${where}`, [arg]);
      return r ? toAccount(r) : undefined;
    },
    async listAccounts(filter) {
      if (filter?.domainId !== undefined)
        return (await db.all('SELECT * FROM accounts WHERE domain_id = ? ORDER BY address', [filter.domainId])).map(
          toAccount,
        );
      if (filter?.tenantId !== undefined)
        return (await db.all('SELECT * FROM accounts WHERE tenant_id = ? ORDER BY address', [filter.tenantId])).map(
          toAccount,
        );
      return (await db.all('SELECT * FROM accounts ORDER BY address')).map(toAccount);
    },
    async updateAccount(id, patch: AccountPatch) {
      const cols: string[] = [];
      const args: (string | number | null)[] = [];
      const set = (col: string, v: string | number | null) => {
        cols.push(`${col} = ?`);
        args.push(v);
      };
      if (patch.passwordHash !== undefined) set('password_hash', patch.passwordHash);
      if (patch.displayName !== undefined) set('display_name', patch.displayName);
      if (patch.role !== undefined) set('role', patch.role);
      if (patch.quotaBytes !== undefined) set('quota_bytes', patch.quotaBytes);
      if (patch.quotaMessages !== undefined) set('quota_messages', patch.quotaMessages);
      if (patch.disabled !== undefined) set('disabled', patch.disabled ? 1 : 0);
      if (patch.sendAs !== undefined) set('send_as', patch.sendAs);
      if (cols.length === 0) return;
      const n = await db.run(`UPDATE accounts SET ${cols.join(', ')} WHERE id = ?`, [...args, id]);
      if (n === 0) throw new PetrelError('NOT_FOUND', 'no such account');
    },
    async deleteAccount(id) {
      await db.transaction(async (tx) => {
        // The account's row first, then bodies, as every writer of mail locks them (PostgreSQL: no deadlock
        // with an append to it), and no message arrives between the count and the delete.
        await tx.run('UPDATE accounts SET modseq = modseq WHERE id = ?', [id]);
        // Bodies lose one reference per message; unreferenced ones go with their full-text rows.
        const bodies = await tx.all<{ body_id: number; n: number }>(
          'SELECT body_id, COUNT(*) AS n FROM messages WHERE account_id = ? GROUP BY body_id ORDER BY body_id',
          [id],
        );
        await tx.run('DELETE FROM messages WHERE account_id = ?', [id]);
        for (const b of bodies) await releaseBody(tx, db.dialect, num(b.body_id), num(b.n));
        await tx.run('DELETE FROM expunged WHERE account_id = ?', [id]);
        await tx.run('DELETE FROM thread_refs WHERE account_id = ?', [id]);
        await tx.run('DELETE FROM mailbox_tombstones WHERE account_id = ?', [id]);
        await tx.run('DELETE FROM subscriptions WHERE account_id = ?', [id]);
        if ((await tx.run('DELETE FROM spam_lists WHERE account_id = ?', [id])) > 0)
          await tx.run('UPDATE spam_lists_version SET version = version + 1 WHERE id = 1');
        await tx.run('DELETE FROM spam_user_settings WHERE account_id = ?', [id]);
        // Its own Bayes table (scope = account id) and the judgements its filings made: nothing learned from
        // its mail outlives it (the table is expired only when it learns, which it no longer will).
        await tx.run('DELETE FROM bayes_tokens WHERE scope = ?', [id]);
        await tx.run('DELETE FROM bayes_learned WHERE scope = ?', [id]);
        await tx.run('DELETE FROM bayes_totals WHERE scope = ?', [id]);
        await tx.run('DELETE FROM spam_judgements WHERE account_id = ?', [id]);
        await tx.run('DELETE FROM mailboxes WHERE account_id = ?', [id]);
        if ((await tx.run('DELETE FROM accounts WHERE id = ?', [id])) === 0)
          throw new PetrelError('NOT_FOUND', 'no such account');
      });
    },

    async createAlias(a) {
      try {
        return await db.transaction(async (tx) => {
          const r = await tx.get<Row>(
            'INSERT INTO aliases (domain_id, address, kind, created_at) VALUES (?, ?, ?, ?) RETURNING *',
            [a.domainId, a.address.toLowerCase(), a.kind, Date.now()],
          );
          const targets = [...new Set(a.targets.map((t) => t.toLowerCase()))].sort();
          for (const t of targets)
            await tx.run('INSERT INTO alias_targets (alias_id, target) VALUES (?, ?)', [num(r!.id), t]);
          return {
            id: num(r!.id),
            domainId: a.domainId,
            address: String(r!.address),
            kind: a.kind,
            targets,
            createdAt: num(r!.created_at),
          };
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw new PetrelError('ALREADY_EXISTS', `alias ${a.address} already exists`);
        throw e;
      }
    },
    async getAlias(address) {
      const r = await db.get('SELECT * FROM aliases WHERE address = ?', [address.toLowerCase()]);
      return r ? (await toAliases([r]))[0] : undefined;
    },
    async listAliases(filter) {
      let rows: Row[];
      if (filter?.target !== undefined)
        rows = await db.all(
          'SELECT a.* FROM aliases a JOIN alias_targets t ON t.alias_id = a.id WHERE t.target = ? ORDER BY a.address',
          [filter.target.toLowerCase()],
        );
      else if (filter?.domainId !== undefined)
        rows = await db.all('SELECT * FROM aliases WHERE domain_id = ? ORDER BY address', [filter.domainId]);
      else rows = await db.all('SELECT * FROM aliases ORDER BY address');
      return toAliases(rows);
    },
    async deleteAlias(id) {
      if ((await db.run('DELETE FROM aliases WHERE id = ?', [id])) === 0)
        throw new PetrelError('NOT_FOUND', 'no such alias');
    },

    async usage(scope, id) {
      const col = scope === 'domain' ? 'domain_id' : 'tenant_id';
      const r = await db.get<{ b: number | null; m: number | null }>(
        `SELECT SUM(used_bytes) AS b, SUM(used_messages) AS m FROM accounts WHERE ${col} = ?`,
        [id],
      );
      return { bytes: num(r?.b ?? 0), messages: num(r?.m ?? 0) };
    },
  };
}

/**
 * Drops `n` message references from a body; the last one removes the body and its full-text row. Its
 * blob (row or file) is removed later by garbage collection (store/blob/gc.ts), once no body and no
 * queued message refers to it.
 */
export async function releaseBody(
  tx: import('./driver.ts').SqlExecutor,
  dialect: 'sqlite' | 'postgres',
  bodyId: number,
  n: number,
): Promise<void> {
  const r = await tx.get<{ refs: number; hash: string }>(
    'UPDATE bodies SET refs = refs - ? WHERE id = ? RETURNING refs, hash',
    [n, bodyId],
  );
  if (!r || num(r.refs) > 0) return;
  await tx.run('DELETE FROM bodies WHERE id = ? AND refs <= 0', [bodyId]);
  if (dialect === 'sqlite') await tx.run('DELETE FROM body_text WHERE rowid = ?', [bodyId]);
  else await tx.run('DELETE FROM body_text WHERE body_id = ?', [bodyId]);
}
