// Greylisting: the first message of an unknown triplet (client network, envelope sender, recipient) is
// deferred with 451 4.7.1; a retry after `delay` and within `retry_window` passes, and the triplet is
// remembered for `lifetime`. The client is its network (IPv4 /24, IPv6 /64: senders retry from other
// addresses of their pool), the sender as senderKey() rewrites what changes per message. A network that
// has passed `autoWhitelistAfter` triplets is no longer greylisted. The rows live in the shared store so
// a retry reaching another node is recognised.
import { isIP } from 'node:net';
import type { SpamStore } from '../../core/spam-port.ts';
import type { SpamCheck } from '../types.ts';

export interface GreylistOptions {
  store: SpamStore;
  delayMs: number;
  retryWindowMs: number;
  lifetimeMs: number;
  autoWhitelistAfter: number;
  now?: () => number;
}

/** The client network of the triplet: "a.b.c.0/24", or the first four IPv6 groups + "::/64". */
export function clientNet(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.\d+$/i.exec(ip);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (isIP(ip) !== 6) return ip;
  const [head, tail] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

/**
 * The envelope sender as a triplet (and the sender rate limit, rate-limit.ts) keys it: lower case, with
 * the parts that change from message to message replaced, so a sender whose every message has its own
 * address is one sender, as Postgrey keys it (do_sender_substitutions; BATV since 1.32): a BATV tag
 * ("prvs=TAG=user", draft-levine-smtp-batv section 4.1; "msprvs1=" and Barracuda's "btv1==TAG=="), the
 * hash and timestamp of an SRS0/SRS1 address (forwarders, ours too: smtp/srs.ts), a "+extension", and
 * numbers standing alone in VERP addresses ("bounces-12345-..."). The null sender stays "".
 */
export function senderKey(address: string | null | undefined): string {
  const a = (address ?? '').toLowerCase();
  const at = a.lastIndexOf('@');
  if (at < 0) return a;
  let local = a.slice(0, at);
  // Each rewrite at the start of the local part or of an address an SRS wrapper carries ("=" before it).
  for (let before = ''; before !== local; ) {
    before = local;
    local = local
      .replace(/(^|=)(?:prvs|msprvs1)=[0-9a-z]+=/g, '$1')
      .replace(/(^|=)btv1==[0-9a-z]+==/g, '$1')
      .replace(/(^|=)srs0[=+-][^=]+=[^=]+=(?=[^=]+=.)/g, '$1srs0=#=#=')
      .replace(/(^|=)srs1[=+-][^=]+=([^=]+)==[^=]+=[^=]+=(?=[^=]+=.)/g, '$1srs1=#=$2==#=#=');
  }
  local = local.replace(/\+.*$/, '').replace(/\b\d+\b/g, '#');
  return `${local}${a.slice(at)}`;
}

export function greylistCheck(opts: GreylistOptions): SpamCheck {
  const now = opts.now ?? Date.now;
  return {
    name: 'greylist',
    stage: 0,
    async run(ctx) {
      if (!ctx.clientIp || !ctx.rcptTo?.length) return [];
      const t = now();
      const net = clientNet(ctx.clientIp);
      const client = await opts.store.getClient(net);
      if (client && opts.autoWhitelistAfter > 0 && client.passes >= opts.autoWhitelistAfter) {
        // Seen again: `lifetime` counts from its last message, not its last pass, or a network that
        // keeps sending is forgotten by the prune and delayed again. Postgrey refreshes its
        // auto-whitelisted clients' last-seen the same way, at most hourly (one write, not one per message).
        if (t - client.lastSeen >= Math.min(3600_000, opts.lifetimeMs / 10)) await opts.store.touchClient(net, t);
        return [{ name: 'GREYLIST_WHITELISTED', score: 0, detail: `${net} passed ${client.passes} times` }];
      }
      const sender = senderKey(ctx.mailFrom);
      let waiting = 0;
      for (const rcpt of new Set(ctx.rcptTo.map((r) => r.toLowerCase()))) {
        const key = `${net}|${sender}|${rcpt}`;
        const row = await opts.store.getTriplet(key);
        const stale =
          !row ||
          (row.passedAt === null && t - row.firstSeen > opts.retryWindowMs) ||
          (row.passedAt !== null && t - row.lastSeen > opts.lifetimeMs);
        if (stale) {
          await opts.store.startTriplet(key, t);
          waiting++;
        } else if (row.passedAt !== null) await opts.store.touchTriplet(key, t);
        else if (t - row.firstSeen >= opts.delayMs) await opts.store.passTriplet(key, net, t);
        else {
          await opts.store.touchTriplet(key, t);
          waiting++;
        }
      }
      if (waiting === 0) return [{ name: 'GREYLIST_PASS', score: 0 }];
      return [
        {
          name: 'GREYLISTED',
          score: 0,
          force: 'greylist',
          detail: 'Greylisted: please try again later',
        },
      ];
    },
  };
}
