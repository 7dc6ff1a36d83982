// Who a message says it is from, as the content checks read it: the From mailboxes (display name decoded),
// Reply-To, and our own domains from the directory (cached briefly: every message asks).
import type { Store } from '../../core/ports.ts';
import { decodeWords } from '../../mime/encoded-words.ts';
import type { EnvelopeAddress, ParsedMessage } from '../../mime/types.ts';

export interface Mailbox {
  name: string;
  address: string;
  domain: string;
}

function mailboxes(list: EnvelopeAddress[] | null): Mailbox[] {
  const out: Mailbox[] = [];
  for (const a of list ?? []) {
    if (a.host === null || !a.mailbox) continue; // group syntax markers
    const domain = a.host.toLowerCase();
    out.push({
      name: a.name ? decodeWords(a.name).trim() : '',
      address: `${a.mailbox}@${domain}`.toLowerCase(),
      domain,
    });
  }
  return out;
}

export function fromMailboxes(parsed: ParsedMessage): Mailbox[] {
  return mailboxes(parsed.envelope.from);
}

export function replyToMailboxes(parsed: ParsedMessage): Mailbox[] {
  return mailboxes(parsed.envelope.replyTo);
}

const TTL_MS = 60_000;
const cache = new WeakMap<Store, { at: number; domains: Promise<Set<string>> }>();

/** The domains this server hosts (lower case), refreshed at most once a minute. */
export function localDomains(store: Store, now = Date.now()): Promise<Set<string>> {
  const hit = cache.get(store);
  if (hit && now - hit.at < TTL_MS) return hit.domains;
  const domains = store
    .listDomains()
    .then((list) => new Set(list.map((d) => d.name.toLowerCase())))
    .catch(() => new Set<string>());
  cache.set(store, { at: now, domains });
  return domains;
}
