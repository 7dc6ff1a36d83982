// The allow and block lists as matchers, per scope (null: every recipient; else an account), kept in
// memory and rebuilt only when the lists changed (their version row, bumped by every change), so that a
// list of tens of thousands of entries (an imported access table) costs one single-row read per message,
// not a read and a compile. Every node sees a change at its next message.
import type { SenderListEntry, SpamStore } from '../../core/spam-port.ts';
import { entryMatcher, type SenderIdentity } from './entry.ts';

type Matcher = (who: SenderIdentity) => SenderListEntry | null;
export interface ScopeMatchers {
  allow: Matcher;
  block: Matcher;
}

const NONE: ScopeMatchers = { allow: () => null, block: () => null };

export class SenderLists {
  private readonly store: SpamStore;
  private version = '';
  private scopes = new Map<number | null, ScopeMatchers>();
  private loading: Promise<void> | null = null;

  constructor(store: SpamStore) {
    this.store = store;
  }

  /** The matchers of the global scope and of each account given (accounts without entries left out). */
  async forAccounts(accountIds: number[]): Promise<Map<number | null, ScopeMatchers>> {
    const version = await this.store.listVersion();
    if (version !== this.version) {
      // One reload at a time; messages arriving meanwhile wait for it.
      this.loading ??= this.load(version).finally(() => {
        this.loading = null;
      });
      await this.loading;
    }
    const out = new Map<number | null, ScopeMatchers>([[null, this.scopes.get(null) ?? NONE]]);
    for (const id of accountIds) {
      const m = this.scopes.get(id);
      if (m) out.set(id, m);
    }
    return out;
  }

  private async load(version: string): Promise<void> {
    const all = await this.store.listEntries();
    const byScope = new Map<number | null, SenderListEntry[]>();
    for (const e of all) {
      const list = byScope.get(e.accountId);
      if (list) list.push(e);
      else byScope.set(e.accountId, [e]);
    }
    const scopes = new Map<number | null, ScopeMatchers>();
    for (const [scope, list] of byScope)
      scopes.set(scope, {
        allow: entryMatcher(list.filter((e) => e.kind === 'allow')),
        block: entryMatcher(list.filter((e) => e.kind === 'block')),
      });
    this.scopes = scopes;
    this.version = version;
  }
}
