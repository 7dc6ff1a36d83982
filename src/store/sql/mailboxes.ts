// Mailbox operations in SQL: create, rename, delete, subscriptions, \Recent claims.
import { PetrelError } from '../../core/errors.ts';
import type { Mailbox, SpecialUse } from '../../core/model.ts';
import type { MailStore } from '../../core/ports.ts';
import { isUniqueViolation, releaseBody } from './directory.ts';
import type { Row, SqlDriver, SqlExecutor } from './driver.ts';
import { splitKeywords } from './flags.ts';

const num = (v: unknown): number => Number(v);

export function toMailbox(r: Row): Mailbox {
  return {
    id: num(r.id),
    accountId: num(r.account_id),
    name: String(r.name),
    specialUse: (r.special_use as SpecialUse | null) ?? null,
    uidValidity: num(r.uid_validity),
    uidNext: num(r.uid_next),
    modseq: num(r.modseq),
    createdModseq: num(r.created_modseq),
    messages: num(r.messages),
    unseen: num(r.unseen),
    deleted: num(r.deleted),
    size: num(r.size),
    recentUid: num(r.recent_uid),
    keywords: splitKeywords(String(r.keywords ?? '')),
    createdAt: num(r.created_at),
  };
}

/** Takes the account's next MODSEQ; the row lock also serialises writers of one account (PostgreSQL). */
export async function nextModseq(tx: SqlExecutor, accountId: number): Promise<number> {
  const r = await tx.get<{ modseq: number }>('UPDATE accounts SET modseq = modseq + 1 WHERE id = ? RETURNING modseq', [
    accountId,
  ]);
  if (!r) throw new PetrelError('NOT_FOUND', 'no such account');
  return num(r.modseq);
}

/**
 * UIDVALIDITY for a new mailbox: seconds since the epoch, bumped past any value the account used before,
 * so a mailbox deleted and created again within one second never reuses one (RFC 9051 section 2.3.1.1).
 */
async function newUidValidity(tx: SqlExecutor, accountId: number): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const r = await tx.get<{ v: number }>(
    'UPDATE accounts SET last_uid_validity = CASE WHEN last_uid_validity < ? THEN ? ELSE last_uid_validity + 1 END WHERE id = ? RETURNING last_uid_validity AS v',
    [now, now, accountId],
  );
  return Number(r!.v);
}

/** INBOX is case-insensitive everywhere in IMAP (RFC 9051 section 5.1); store it in one spelling. */
export function canonicalName(name: string): string {
  if (name.toUpperCase() === 'INBOX') return 'INBOX';
  if (name.toUpperCase().startsWith('INBOX/')) return 'INBOX' + name.slice(5);
  return name;
}

type MailboxOps = Pick<
  MailStore,
  | 'listMailboxes'
  | 'getMailbox'
  | 'createMailbox'
  | 'renameMailbox'
  | 'deleteMailbox'
  | 'setSpecialUse'
  | 'listSubscriptions'
  | 'setSubscribed'
  | 'mailboxesDestroyedSince'
  | 'claimRecent'
>;

export function mailboxStore(db: SqlDriver): MailboxOps {
  return {
    async listMailboxes(accountId) {
      return (await db.all('SELECT * FROM mailboxes WHERE account_id = ? ORDER BY name', [accountId])).map(toMailbox);
    },
    async getMailbox(accountId, v) {
      const r =
        typeof v === 'number'
          ? await db.get('SELECT * FROM mailboxes WHERE id = ? AND account_id = ?', [v, accountId])
          : await db.get('SELECT * FROM mailboxes WHERE account_id = ? AND name = ?', [accountId, canonicalName(v)]);
      return r ? toMailbox(r) : undefined;
    },
    async createMailbox(accountId, name, specialUse) {
      const canonical = canonicalName(name);
      try {
        return await db.transaction(async (tx) => {
          const modseq = await nextModseq(tx, accountId);
          const uidValidity = await newUidValidity(tx, accountId);
          const r = await tx.get<Row>(
            `INSERT INTO mailboxes (account_id, name, special_use, uid_validity, modseq, created_modseq, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
            [accountId, canonical, specialUse ?? null, uidValidity, modseq, modseq, Date.now()],
          );
          return toMailbox(r!);
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw new PetrelError('ALREADY_EXISTS', 'mailbox already exists');
        throw e;
      }
    },
    async renameMailbox(accountId, id, newName) {
      const target = canonicalName(newName);
      try {
        await db.transaction(async (tx) => {
          // The account's lock before the read: a rename that committed meanwhile is seen (PostgreSQL).
          const modseq = await nextModseq(tx, accountId);
          const cur = await tx.get<Row>('SELECT * FROM mailboxes WHERE id = ? AND account_id = ?', [id, accountId]);
          if (!cur) throw new PetrelError('NOT_FOUND', 'no such mailbox');
          const old = String(cur.name);
          const children = await tx.all<Row>(
            'SELECT id, name FROM mailboxes WHERE account_id = ? AND substr(name, 1, ?) = ?',
            [accountId, old.length + 1, old + '/'],
          );
          await tx.run('UPDATE mailboxes SET name = ?, modseq = ? WHERE id = ?', [target, modseq, id]);
          for (const c of children)
            await tx.run('UPDATE mailboxes SET name = ?, modseq = ? WHERE id = ?', [
              target + String(c.name).slice(old.length),
              modseq,
              num(c.id),
            ]);
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw new PetrelError('ALREADY_EXISTS', 'a mailbox with that name already exists');
        throw e;
      }
    },
    async deleteMailbox(accountId, id) {
      await db.transaction(async (tx) => {
        // The account's lock first, then the mailbox's counters: read before it (PostgreSQL, read committed),
        // they would miss an append committing meanwhile, and the account would keep its usage forever.
        const modseq = await nextModseq(tx, accountId);
        const cur = await tx.get<Row>('SELECT * FROM mailboxes WHERE id = ? AND account_id = ?', [id, accountId]);
        if (!cur) throw new PetrelError('NOT_FOUND', 'no such mailbox');
        const bodies = await tx.all<{ body_id: number; n: number }>(
          'SELECT body_id, COUNT(*) AS n FROM messages WHERE mailbox_id = ? GROUP BY body_id ORDER BY body_id',
          [id],
        );
        await tx.run(
          'UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?',
          [num(cur.size), num(cur.messages), accountId],
        );
        // Messages of a deleted mailbox become tombstones so JMAP /changes reports them destroyed.
        await tx.run(
          `INSERT INTO expunged (mailbox_id, uid, account_id, email_id, modseq)
           SELECT mailbox_id, uid, account_id, COALESCE(email_id, id), ? FROM messages WHERE mailbox_id = ?`,
          [modseq, id],
        );
        await tx.run('DELETE FROM messages WHERE mailbox_id = ?', [id]);
        for (const b of bodies) await releaseBody(tx, db.dialect, num(b.body_id), num(b.n));
        await tx.run('DELETE FROM mailboxes WHERE id = ?', [id]);
        await tx.run(
          'INSERT INTO mailbox_tombstones (account_id, mailbox_id, modseq) VALUES (?, ?, ?) ON CONFLICT (account_id, mailbox_id) DO UPDATE SET modseq = excluded.modseq',
          [accountId, id, modseq],
        );
      });
    },
    async setSpecialUse(accountId, id, specialUse) {
      await db.transaction(async (tx) => {
        const modseq = await nextModseq(tx, accountId);
        const n = await tx.run('UPDATE mailboxes SET special_use = ?, modseq = ? WHERE id = ? AND account_id = ?', [
          specialUse,
          modseq,
          id,
          accountId,
        ]);
        if (n === 0) throw new PetrelError('NOT_FOUND', 'no such mailbox');
      });
    },
    async listSubscriptions(accountId) {
      return (
        await db.all<{ name: string }>('SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name', [accountId])
      ).map((r) => r.name);
    },
    async setSubscribed(accountId, name, subscribed) {
      const n = canonicalName(name);
      if (subscribed)
        await db.run('INSERT INTO subscriptions (account_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING', [
          accountId,
          n,
        ]);
      else await db.run('DELETE FROM subscriptions WHERE account_id = ? AND name = ?', [accountId, n]);
    },
    async mailboxesDestroyedSince(accountId, modseq) {
      return (
        await db.all<{ mailbox_id: number }>(
          'SELECT mailbox_id FROM mailbox_tombstones WHERE account_id = ? AND modseq > ? ORDER BY mailbox_id',
          [accountId, modseq],
        )
      ).map((r) => num(r.mailbox_id));
    },
    async claimRecent(mailboxId) {
      return db.transaction(async (tx) => {
        // A no-op update first: it takes the row lock (PostgreSQL) so two sessions never claim the same UIDs.
        await tx.run('UPDATE mailboxes SET recent_uid = recent_uid WHERE id = ?', [mailboxId]);
        const r = await tx.get<{ recent_uid: number; uid_next: number }>(
          'SELECT recent_uid, uid_next FROM mailboxes WHERE id = ?',
          [mailboxId],
        );
        if (!r) throw new PetrelError('NOT_FOUND', 'no such mailbox');
        if (num(r.recent_uid) < num(r.uid_next))
          await tx.run('UPDATE mailboxes SET recent_uid = ? WHERE id = ?', [num(r.uid_next), mailboxId]);
        return num(r.recent_uid);
      });
    },
  };
}
