// `petrel spam reputation show|forget SENDER...`: what the reputation store holds about a sender (an IP
// address, a /24 or /64 network, a domain, an address) and what it scores now, and forgetting it, for
// when REPUTATION_* or SPAMTRAP_CLIENT put a sender's mail in Junk that should not be there.
import { isIP } from 'node:net';
import type { ReputationKey } from '../core/reputation-port.ts';
import { toALabel } from '../dns/resolver.ts';
import type { App } from '../server/app.ts';
import { judgeEntry, parseKindWeights } from '../spam/checks/reputation.ts';
import { registeredDomain } from '../spam/content/domain.ts';
import { ipKey, networkOf } from '../spam/reputation/keys.ts';
import { type Cli, UsageError } from './context.ts';

const DAY = 24 * 3600_000;

/**
 * The rows a SENDER names. `show` also looks at related rows (an IP's network, an address's domain);
 * `forget` deletes only what names the sender itself: an IP's own and trap rows, not its neighbours'.
 */
export function senderKeys(sender: string, forShow: boolean): ReputationKey[] {
  const s = sender.trim().toLowerCase();
  const net = /^([0-9a-f:.]+)\/(\d+)$/.exec(s);
  if (net) {
    const n = isIP(net[1]) ? networkOf(net[1]) : null;
    const want = isIP(net[1]) === 4 ? '24' : '64';
    if (!n || net[2] !== want) throw new UsageError(`${sender}: reputation is kept per /24 (IPv4) or /64 (IPv6)`);
    return [{ kind: 'net', key: n }];
  }
  if (isIP(s)) {
    const ip = ipKey(s);
    const keys: ReputationKey[] = [
      { kind: 'ip', key: ip },
      { kind: 'trap', key: ip },
    ];
    const n = networkOf(ip);
    if (forShow && n) keys.push({ kind: 'net', key: n });
    return keys;
  }
  const at = s.lastIndexOf('@');
  // An internationalised domain as people type it: rows keep its A-label (reputation/keys.ts).
  const domain = toALabel(at >= 0 ? s.slice(at + 1) : s);
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain) || at === 0)
    throw new UsageError(`${sender}: give an IP address, a /24 or /64 network, a domain or an address`);
  const domainKeys: ReputationKey[] = [
    { kind: 'domain', key: registeredDomain(domain) ?? domain },
    { kind: 'dkim', key: domain },
  ];
  if (at > 0) return [{ kind: 'from', key: `${s.slice(0, at)}@${domain}` }, ...(forShow ? domainKeys : [])];
  return domainKeys;
}

export async function reputationCommand(cli: Cli, app: App): Promise<void> {
  const op = cli.args[2];
  const senders = cli.args.slice(3);
  if (op !== 'show' && op !== 'forget') throw new UsageError('spam reputation show|forget SENDER...');
  if (senders.length === 0) throw new UsageError('missing SENDER (IP address, network, domain or address)');
  // Every sender is checked before anything is deleted.
  const keys = senders.flatMap((x) => senderKeys(x, op === 'show'));
  if (op === 'forget') {
    const n = await app.store.reputation.forget(keys);
    cli.out(`${n} reputation row${n === 1 ? '' : 's'} forgotten`);
    return;
  }
  const cfg = app.config.spam.reputation;
  const weights = parseKindWeights(cfg.weights);
  const now = Date.now();
  const entries = await app.store.reputation.lookup(keys, now, cfg.half_life_days * DAY);
  if (entries.length === 0) cli.out('no reputation: neither trusted nor condemned');
  for (const e of entries) {
    let says: string;
    if (e.kind === 'trap') says = 'sent to a spam trap (SPAMTRAP_CLIENT while remembered)';
    else {
      const j = judgeEntry(e, cfg.min_observations, weights);
      says = 'name' in j ? `${j.name}=${j.score}` : `scores nothing: ${j.none}`;
    }
    cli.out(
      [
        e.kind,
        e.key,
        `spam ${e.spam.toFixed(1)}`,
        `ham ${e.ham.toFixed(1)}`,
        `${e.count.toFixed(1)} seen`,
        `last ${new Date(e.updatedAt).toISOString()}`,
        says,
      ].join('\t'),
    );
  }
}
