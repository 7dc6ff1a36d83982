// A user's own allow and block lists, edited on the /account/spam pages: the account's scope of the same
// lists the admin edits with `petrel spam allow|block --account` (so both see one list), limited to what a
// user may decide for their own mail: sender addresses and domains (not IP addresses or networks, which
// concern everyone a server sends for), at most spam.lists.user_max_entries of them.
import type { Store } from '../../core/ports.ts';
import type { SenderListEntry } from '../../core/spam-port.ts';
import { parseEntry } from './entry.ts';

export type ListKind = SenderListEntry['kind'];

export interface OwnLists {
  allow: { entry: string; createdAt: number }[];
  block: { entry: string; createdAt: number }[];
  /** Entries the user may keep in all (both lists). */
  max: number;
}

/** A refusal to say to the user: 400 for an entry that is not one, 409 for a full list. */
export class OwnListError extends Error {
  readonly status: 400 | 409;
  constructor(status: 400 | 409, message: string) {
    super(message);
    this.status = status;
  }
}

const NOTE = 'added by the user';

export class AccountLists {
  private readonly store: Store;
  private readonly max: number;
  constructor(store: Store, maxEntries: number) {
    this.store = store;
    this.max = maxEntries;
  }

  async show(accountId: number): Promise<OwnLists> {
    const out: OwnLists = { allow: [], block: [], max: this.max };
    for (const e of await this.store.spam.listEntries(accountId))
      out[e.kind].push({ entry: e.entry, createdAt: e.createdAt });
    return out;
  }

  /** Adds an entry; false when it was there already. Throws OwnListError for what the user must change. */
  async add(accountId: number, kind: ListKind, input: string): Promise<{ entry: string; added: boolean }> {
    const entry = this.parse(input);
    const have = await this.store.spam.listEntries(accountId);
    if (have.some((e) => e.kind === kind && e.entry === entry)) return { entry, added: false };
    if (have.length >= this.max)
      throw new OwnListError(409, `your lists are full (${this.max} entries): remove one first`);
    const added = await this.store.spam.addListEntry({
      kind,
      accountId,
      domainId: null,
      entry,
      note: NOTE,
      createdAt: Date.now(),
    });
    return { entry, added: added !== null };
  }

  /** Removes an entry; false when it was not on the list. */
  async remove(accountId: number, kind: ListKind, input: string): Promise<{ entry: string; removed: boolean }> {
    const p = parseEntry(input);
    // Whatever is on the account's own list can go, also an address the user could not add (an admin's IP).
    const entry = 'error' in p ? input.trim().toLowerCase() : p.value;
    return { entry, removed: await this.store.spam.removeListEntry(kind, accountId, entry) };
  }

  private parse(input: string): string {
    if (input.length > 320) throw new OwnListError(400, 'too long for an address or a domain');
    const p = parseEntry(input);
    if ('error' in p) throw new OwnListError(400, p.error);
    if (p.type === 'network')
      throw new OwnListError(400, 'IP addresses and networks are for the administrator; give an address or a domain');
    return p.value;
  }
}
