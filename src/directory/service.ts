// The directory service: adding tenants, domains, accounts and aliases (CLI, web admin), login checks,
// and resolving a recipient address to the accounts that receive it (aliases, groups, +tags, catch-all).

import { hashPassword, verifyPassword } from '../auth/password.ts';
import { scramVerifier } from '../auth/sasl/scram.ts';
import { PetrelError } from '../core/errors.ts';
import type { Account, AliasKind, Domain, SendAsPolicy, SpecialUse, Tenant } from '../core/model.ts';
import type { EventBus, Store } from '../core/ports.ts';
import { canonicalAddressOf, isRoutableDomain, normaliseDomain, parseHostedAddress } from './address.ts';

/** The mailboxes every new account starts with (RFC 6154 special-use), all subscribed. */
export const DEFAULT_MAILBOXES: [string, SpecialUse | null][] = [
  ['INBOX', null],
  ['Sent', '\\Sent'],
  ['Drafts', '\\Drafts'],
  ['Junk', '\\Junk'],
  ['Trash', '\\Trash'],
  ['Archive', '\\Archive'],
];

export const DEFAULT_TENANT = 'default';

export interface Resolution {
  /** Accounts that receive the message, each once. */
  accounts: Account[];
  /** Addresses outside our domains that aliases forward to. */
  external: string[];
}

const MAX_ALIAS_DEPTH = 8;
/** How long the first administrator (the default postmaster) is remembered. */
const FIRST_ADMIN_TTL_MS = 60_000;

export class DirectoryService {
  readonly store: Store;
  /** Who receives postmaster@ a hosted domain that has no postmaster account or alias of its own. */
  readonly postmaster: string | null;
  /** With no postmaster set: the first administrator account (lowest id, enabled) receives it. */
  private readonly adminPostmaster: boolean;
  private firstAdmin: { address: string | null; at: number } | null = null;
  /** Where account changes are announced to the sessions of every node (none: nobody listens). */
  private readonly events: EventBus | null;
  /**
   * Takes back what a removed account taught the filter that others' mail is judged by (its votes in sender
   * reputation and the own digest store); the composition root gives it, as it needs the spam settings.
   */
  private readonly forgetVotes: ((accountId: number) => Promise<unknown>) | null;
  constructor(
    store: Store,
    opts: {
      postmaster?: string | null;
      firstAdminPostmaster?: boolean;
      events?: EventBus;
      forgetVotes?: (accountId: number) => Promise<unknown>;
    } = {},
  ) {
    this.store = store;
    this.postmaster = opts.postmaster || null;
    this.adminPostmaster = opts.firstAdminPostmaster ?? false;
    this.events = opts.events ?? null;
    this.forgetVotes = opts.forgetVotes ?? null;
  }

  /**
   * Tells the account's open IMAP, POP3 and SMTP submission sessions, on every node, that it was removed or
   * disabled or that a credential changed or was revoked: each asks whether it may go on and ends if not
   * (SignInWatch; as `doveadm kick` would). Called after the change is committed.
   */
  accountChanged(accountId: number): void {
    this.events?.publish({ accountId, modseq: 0, kind: 'account' });
  }

  /**
   * The postmaster of domains without their own: the configured address, else the first administrator
   * found in the store now (not the one the first start made: it may have been removed or renamed, and
   * its domain with it), remembered for a minute (changes made through this service count at once; the
   * CLI's, made by another process, within that minute).
   */
  private async postmasterTarget(): Promise<string | null> {
    if (this.postmaster || !this.adminPostmaster) return this.postmaster;
    const now = Date.now();
    if (!this.firstAdmin || now - this.firstAdmin.at > FIRST_ADMIN_TTL_MS) {
      const admins = (await this.store.listAccounts()).filter((a) => a.role === 'admin' && !a.disabled);
      admins.sort((a, b) => a.id - b.id);
      this.firstAdmin = { address: admins[0]?.address ?? null, at: now };
    }
    return this.firstAdmin.address;
  }

  async tenant(name = DEFAULT_TENANT): Promise<Tenant> {
    const t = await this.store.getTenant(name);
    if (t) return t;
    try {
      return await this.store.createTenant({ name });
    } catch (e) {
      const again = await this.store.getTenant(name);
      if (again) return again;
      throw e;
    }
  }

  async addTenant(name: string, quotaBytes?: number | null): Promise<Tenant> {
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/i.test(name))
      throw new PetrelError('INVALID_ARGUMENT', 'tenant names are letters, digits, _ and -');
    return this.store.createTenant({ name, quotaBytes: quotaBytes ?? null });
  }

  async addDomain(name: string, tenantName?: string): Promise<Domain> {
    const domain = normaliseDomain(name);
    const tenant = tenantName ? await this.store.getTenant(tenantName) : await this.tenant();
    if (!tenant) throw new PetrelError('NOT_FOUND', `no such tenant: ${tenantName}`);
    return this.store.createDomain({ name: domain, tenantId: tenant.id });
  }

  async removeDomain(name: string): Promise<void> {
    const d = await this.store.getDomain(normaliseDomain(name));
    if (!d) throw new PetrelError('NOT_FOUND', `no such domain: ${name}`);
    await this.store.deleteDomain(d.id);
  }

  async addAccount(
    address: string,
    password: string | null,
    opts: { role?: 'user' | 'admin'; displayName?: string; quotaBytes?: number | null } = {},
  ): Promise<Account> {
    const { a, domain } = await this.newAccountAddress(address);
    const account = await this.store.createAccount({
      address: a.address,
      localPart: a.localPart,
      domainId: domain.id,
      tenantId: domain.tenantId,
      passwordHash: password === null ? null : await hashPassword(password),
      role: opts.role,
      displayName: opts.displayName ?? null,
      quotaBytes: opts.quotaBytes ?? null,
    });
    if (password !== null) await this.store.auth.setScram(account.id, scramVerifier(password));
    await this.ensureDefaultMailboxes(account.id);
    if (account.role === 'admin') this.firstAdmin = null;
    return account;
  }

  /**
   * What addAccount checks before it makes anything: an address of a hosted domain, not yet an account or
   * an alias. `petrel account add` asks it before prompting for a password, so a typo is not found after.
   */
  async newAccountAddress(address: string) {
    const a = parseHostedAddress(address);
    const domain = await this.store.getDomain(a.domain);
    if (!domain) throw new PetrelError('NOT_FOUND', `domain ${a.domain} is not hosted here (add it first)`);
    if (await this.store.getAlias(a.address))
      throw new PetrelError('ALREADY_EXISTS', `${a.address} is already an alias`);
    if (await this.store.getAccount(a.address))
      throw new PetrelError('ALREADY_EXISTS', `account ${a.address} already exists`);
    return { a, domain };
  }

  /** Creates whichever default mailboxes are missing (idempotent). */
  async ensureDefaultMailboxes(accountId: number): Promise<void> {
    const have = new Set((await this.store.listMailboxes(accountId)).map((m) => m.name));
    for (const [name, use] of DEFAULT_MAILBOXES) {
      if (have.has(name)) continue;
      try {
        await this.store.createMailbox(accountId, name, use);
      } catch (e) {
        if (!(e instanceof PetrelError && e.code === 'ALREADY_EXISTS')) throw e;
      }
      await this.store.setSubscribed(accountId, name, true);
    }
  }

  async setPassword(address: string, password: string): Promise<void> {
    const acc = await this.requireAccount(address);
    await this.store.updateAccount(acc.id, { passwordHash: await hashPassword(password) });
    await this.store.auth.setScram(acc.id, scramVerifier(password));
    // A new password is what an admin gives an account whose password was stolen: the tokens and sign-in
    // sessions made with the old one go with it (RFC 9700 section 4.14.2). App passwords stay: each is its own.
    await this.store.oauth.revokeAccount(acc.id);
    // The sessions signed in with the old password (or a token) end too, not only new sign-ins.
    this.accountChanged(acc.id);
  }

  async removeAccount(address: string): Promise<void> {
    const acc = await this.requireAccount(address);
    // Its votes first: a failure here leaves the account to be removed again, not votes nobody can take
    // back. Once more after: a judgement of its mail that was being given meanwhile goes too (the mail is
    // gone now, so no other can start).
    await this.forgetVotes?.(acc.id);
    await this.store.deleteAccount(acc.id);
    await this.forgetVotes?.(acc.id);
    if (acc.role === 'admin') this.firstAdmin = null;
    this.accountChanged(acc.id);
  }

  /** Which sender addresses submission lets the account use (MAIL FROM, From:, Sender:; smtp/policy.ts). */
  async setSendAs(address: string, sendAs: SendAsPolicy): Promise<void> {
    const acc = await this.requireAccount(address);
    await this.store.updateAccount(acc.id, { sendAs });
  }

  /**
   * The account's own storage quota in octets (null: none; its domain's and tenant's still apply). Every
   * delivery reads it from the store (accounts are not cached), so a running server applies it to the
   * next message; what is already stored stays, over the quota or not.
   */
  async setQuota(address: string, quotaBytes: number | null): Promise<Account> {
    const acc = await this.requireAccount(address);
    await this.store.updateAccount(acc.id, { quotaBytes });
    return { ...acc, quotaBytes };
  }

  /** A disabled account keeps its mail but receives none and signs in nowhere; its sessions end. */
  async setDisabled(address: string, disabled: boolean): Promise<void> {
    const acc = await this.requireAccount(address);
    await this.store.updateAccount(acc.id, { disabled });
    if (acc.role === 'admin') this.firstAdmin = null;
    if (disabled) this.accountChanged(acc.id);
  }

  /**
   * The account at this address given in any form: any case, the domain as a U-label or an A-label (an IDN
   * account is stored with its A-label, the form RCPT TO is looked up in too).
   */
  async findAccount(address: string): Promise<Account | undefined> {
    const canonical = canonicalAddressOf(address.trim());
    return canonical ? this.store.getAccount(canonical) : undefined;
  }

  async requireAccount(address: string): Promise<Account> {
    const acc = await this.findAccount(address);
    if (!acc) throw new PetrelError('NOT_FOUND', `no such account: ${address}`);
    return acc;
  }

  async addAlias(address: string, targets: string[], kind?: AliasKind): Promise<void> {
    let domainName: string;
    let canonical: string;
    if (address.startsWith('@')) {
      domainName = normaliseDomain(address.slice(1));
      canonical = `@${domainName}`;
      kind = 'catchall';
    } else {
      const a = parseHostedAddress(address);
      domainName = a.domain;
      canonical = a.address;
      kind ??= targets.length > 1 ? 'group' : 'alias';
      if (await this.store.getAccount(canonical))
        throw new PetrelError('ALREADY_EXISTS', `${canonical} is already an account`);
    }
    const domain = await this.store.getDomain(domainName);
    if (!domain) throw new PetrelError('NOT_FOUND', `domain ${domainName} is not hosted here (add it first)`);
    if (targets.length === 0) throw new PetrelError('INVALID_ARGUMENT', 'an alias needs at least one target');
    // Targets stored in canonical form (domain as A-label), as accounts are: senders and lookups compare them.
    const stored = targets.map((t) => {
      const c = /^[^@\s]+@[^@\s]+$/.test(t) ? canonicalAddressOf(t) : null;
      if (!c) throw new PetrelError('INVALID_ARGUMENT', `not a valid target address: ${t}`);
      return c;
    });
    for (const c of stored) {
      const d = c.slice(c.lastIndexOf('@') + 1);
      if (!isRoutableDomain(d) && !(await this.isLocalDomain(d)))
        throw new PetrelError('INVALID_ARGUMENT', `${c}: ${d} is neither hosted here nor a domain mail can go to`);
    }
    await this.store.createAlias({ address: canonical, domainId: domain.id, kind, targets: stored });
  }

  async removeAlias(address: string): Promise<void> {
    const canonical = address.startsWith('@')
      ? `@${normaliseDomain(address.slice(1))}`
      : (canonicalAddressOf(address.trim()) ?? address.toLowerCase());
    const a = await this.store.getAlias(canonical);
    if (!a) throw new PetrelError('NOT_FOUND', `no such alias: ${address}`);
    await this.store.deleteAlias(a.id);
  }

  /** Checks a login; null for a wrong password, an unknown user, or a disabled account (same cost for each). */
  async authenticate(username: string, password: string): Promise<Account | null> {
    const acc = await this.findAccount(username);
    const ok = await verifyPassword(acc?.passwordHash ?? null, password);
    if (!ok || !acc || acc.disabled) return null;
    return acc;
  }

  /** Whether mail for this domain is ours to deliver. */
  async isLocalDomain(domain: string): Promise<boolean> {
    try {
      const d = await this.store.getDomain(normaliseDomain(domain));
      return !!d && !d.disabled;
    } catch {
      return false;
    }
  }

  /**
   * Resolves a recipient address of a local domain: the account itself, else an alias or group
   * (recursively, loops cut), else the address without its +tag, else the domain's catch-all.
   * Returns null when nobody receives mail at this address.
   */
  resolve(address: string): Promise<Resolution | null> {
    return this.resolveFrom(address, 0);
  }

  /**
   * Who receives "RCPT TO:<Postmaster>" (RFC 5321 section 4.5.1: accepted without a domain): postmaster@
   * the given domain (the first one), else the server's postmaster directly, should that domain be gone.
   */
  async resolvePostmaster(domain: string): Promise<Resolution | null> {
    const own = await this.resolve(`postmaster@${domain}`);
    if (own) return own;
    const target = await this.postmasterTarget();
    return target ? this.resolveFrom(target, 1) : null;
  }

  /** resolve, with `depth` 1 for a target an alias or setting names (it may be outside our domains). */
  private async resolveFrom(address: string, depth: number): Promise<Resolution | null> {
    const accounts = new Map<number, Account>();
    const external = new Set<string>();
    const seen = new Set<string>();
    const visit = async (addr: string, depth: number): Promise<boolean> => {
      const at = addr.lastIndexOf('@');
      if (at <= 0) return false;
      const local = addr.slice(0, at).toLowerCase();
      let domain: string;
      try {
        domain = normaliseDomain(addr.slice(at + 1));
      } catch {
        return false;
      }
      const canonical = `${local}@${domain}`;
      if (seen.has(canonical) || depth > MAX_ALIAS_DEPTH) return seen.has(canonical);
      seen.add(canonical);
      if (!(await this.isLocalDomain(domain))) {
        if (depth === 0) return false;
        // A target nobody outside can route to ("localhost", a domain since removed from us): skipped, as
        // the queue would refuse it and fail the whole message at the end of DATA.
        if (!isRoutableDomain(domain)) return false;
        external.add(canonical);
        return true;
      }
      const acc = await this.store.getAccount(canonical);
      if (acc) {
        if (acc.disabled) return false;
        accounts.set(acc.id, acc);
        return true;
      }
      const alias = await this.store.getAlias(canonical);
      if (alias) {
        let any = false;
        for (const t of alias.targets) if (await visit(t, depth + 1)) any = true;
        return any;
      }
      // Sub-addressing (RFC 5233): user+tag@domain reaches user@domain.
      const plus = local.indexOf('+');
      if (plus > 0 && (await visit(`${local.slice(0, plus)}@${domain}`, depth))) return true;
      const catchAll = await this.store.getAlias(`@${domain}`);
      if (catchAll) {
        let any = false;
        for (const t of catchAll.targets) if (await visit(t, depth + 1)) any = true;
        if (any) return true;
      }
      // RFC 5321 section 4.5.1 (and RFC 2142): every domain we receive for must accept postmaster@, case
      // insensitively; a domain without its own gets the server's postmaster (smtp.postmaster), as mox does.
      if (local === 'postmaster') {
        const target = await this.postmasterTarget();
        if (target) return visit(target, depth + 1);
      }
      return false;
    };
    const found = await visit(address, depth);
    if (!found || (accounts.size === 0 && external.size === 0)) return null;
    return { accounts: [...accounts.values()], external: [...external] };
  }
}
