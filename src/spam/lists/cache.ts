// The allow and block lists as matchers, per scope (every recipient, one domain's accounts, one account),
// kept in memory and rebuilt only when the lists changed (their version row, bumped by every change), so
// that a list of tens of thousands of entries (an imported access table) costs one single-row read per
// message, not a read and a compile. Every node sees a change at its next message.
import type { Store } from '../../core/ports.ts';
import type { SenderListEntry } from '../../core/spam-port.ts';
import { entryMatcher, type SenderIdentity } from './entry.ts';

type Matcher = (who: SenderIdentity) => SenderListEntry | null;
interface ScopeMatchers {
  allow: Matcher;
  block: Matcher;
}

/** The lists that apply to a message: `accounts` undefined for every recipient, else the recipients they are for. */
export interface ApplicableList extends ScopeMatchers {
  accounts?: number[];
}

const compile = (list: SenderListEntry[]): ScopeMatchers => ({
  allow: entryMatcher(list.filter((e) => e.kind === 'allow')),
  block: entryMatcher(list.filter((e) => e.kind === 'block')),
});

/** Accounts whose domain is remembered (an account never changes domain); past this the memory starts over. */
const MAX_ACCOUNTS = 100_000;

/** One cache per store: the list check and the rate-limit exemption share it. */
const perStore = new WeakMap<Store, SenderLists>();

export class SenderLists {
  private readonly store: Store;
  private readonly domains = new Map<number, number | undefined>();
  private version = '';
  private global: ScopeMatchers | null = null;
  private byAccount = new Map<number, ScopeMatchers>();
  private byDomain = new Map<number, ScopeMatchers>();
  private loading: Promise<void> | null = null;

  private constructor(store: Store) {
    this.store = store;
  }

  static of(store: Store): SenderLists {
    let lists = perStore.get(store);
    if (!lists) perStore.set(store, (lists = new SenderLists(store)));
    return lists;
  }

  /** The lists for a message to these accounts: the global one, each domain's, each account's. */
  async forAccounts(accountIds: number[]): Promise<ApplicableList[]> {
    const version = await this.store.spam.listVersion();
    if (version !== this.version) {
      // One reload at a time; messages arriving meanwhile wait for it.
      this.loading ??= this.load(version).finally(() => {
        this.loading = null;
      });
      await this.loading;
    }
    const out: ApplicableList[] = [];
    if (this.global) out.push(this.global);
    if (this.byDomain.size) {
      const recipients = new Map<number, number[]>();
      for (const id of accountIds) {
        const d = await this.domain(id);
        if (d !== undefined && this.byDomain.has(d)) recipients.set(d, [...(recipients.get(d) ?? []), id]);
      }
      for (const [d, accounts] of recipients) out.push({ ...this.byDomain.get(d)!, accounts });
    }
    for (const id of accountIds) {
      const m = this.byAccount.get(id);
      if (m) out.push({ ...m, accounts: [id] });
    }
    return out;
  }

  private async domain(accountId: number): Promise<number | undefined> {
    if (this.domains.has(accountId)) return this.domains.get(accountId);
    const d = (await this.store.getAccount(accountId))?.domainId;
    if (this.domains.size >= MAX_ACCOUNTS) this.domains.clear();
    this.domains.set(accountId, d);
    return d;
  }

  private async load(version: string): Promise<void> {
    const global: SenderListEntry[] = [];
    const accounts = new Map<number, SenderListEntry[]>();
    const domains = new Map<number, SenderListEntry[]>();
    const into = (m: Map<number, SenderListEntry[]>, k: number, e: SenderListEntry) => {
      const list = m.get(k);
      if (list) list.push(e);
      else m.set(k, [e]);
    };
    for (const e of await this.store.spam.listEntries()) {
      if (e.domainId) into(domains, e.domainId, e);
      else if (e.accountId !== null) into(accounts, e.accountId, e);
      else global.push(e);
    }
    this.global = global.length ? compile(global) : null;
    this.byAccount = new Map([...accounts].map(([k, l]) => [k, compile(l)]));
    this.byDomain = new Map([...domains].map(([k, l]) => [k, compile(l)]));
    this.version = version;
  }
}
