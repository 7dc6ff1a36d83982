// Pyzor: the message's body digest is checked against the configured Pyzor servers (in parallel, each
// under the timeout); PYZOR_CHECK when one counts enough spam reports and few whitelistings. The sink
// reports what users mark as spam, and whitelists what they mark as ham, when spam.pyzor.report is on.
import { isIP } from 'node:net';
import type { Config } from '../../config/schema.ts';
import type { Resolver } from '../../core/ports.ts';
import type { Logger } from '../../telemetry/log.ts';
import { type PyzorAccount, type PyzorServer, parseServer, pyzorRequest } from '../digest/pyzor-client.ts';
import type { FeedbackSink } from '../feedback.ts';
import { type ContentScanner, contentScan, feedbackScan, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

interface Deps {
  config: Config;
  resolver: Resolver;
  log?: Logger;
  scanner?: ContentScanner;
}

/** Server addresses: names resolved through our resolver (never the system's), IPs as they are. */
async function addresses(resolver: Resolver, servers: PyzorServer[]): Promise<PyzorServer[]> {
  const out: PyzorServer[] = [];
  for (const s of servers) {
    if (isIP(s.host)) out.push(s);
    else {
      const ips = await resolver.a(s.host).catch(() => [] as string[]);
      if (ips[0]) out.push({ host: ips[0], port: s.port });
    }
  }
  return out;
}

function setup(config: Config) {
  const cfg = config.spam.pyzor;
  const servers = cfg.servers.map(parseServer).filter((s): s is PyzorServer => s !== null);
  const account: PyzorAccount = { user: cfg.username || 'anonymous', key: cfg.key };
  return { cfg, servers, account };
}

export function pyzorCheck(deps: Deps): SpamCheck {
  const { cfg, servers, account } = setup(deps.config);
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  return {
    name: 'pyzor',
    network: true,
    async run(ctx, signal) {
      if (!servers.length) return [];
      // A body with no qualifying line digests to SHA-1(""), which every empty message shares: skip.
      const digest = (await contentScan(ctx, scanner, signal)).pyzor;
      if (digest === null) return [];
      const targets = await addresses(deps.resolver, servers);
      const replies = await Promise.all(
        targets.map((s) =>
          pyzorRequest(s, 'check', digest, { account, timeoutMs: cfg.timeout_ms, signal }).then(
            (r) => ({ s, r, e: null }),
            (e: Error) => ({ s, r: null, e }),
          ),
        ),
      );
      const out: SpamSymbol[] = [];
      for (const { s, r, e } of replies) {
        if (!r) {
          out.push({ name: 'PYZOR_FAIL', score: 0, detail: e?.message });
          continue;
        }
        if (r.code !== 200) continue;
        if (r.count >= cfg.min_count && r.wlCount * cfg.whitelist_ratio < r.count) {
          out.push({
            name: 'PYZOR_CHECK',
            score: cfg.score,
            detail: `${s.host}:${s.port} count=${r.count} wl=${r.wlCount}`,
          });
          break;
        }
      }
      if (out.some((x) => x.name === 'PYZOR_CHECK')) return out.filter((x) => x.name === 'PYZOR_CHECK');
      // PYZOR_FAIL says no server answered: one that did (with a count too low) is an answer.
      return replies.some((x) => x.r) ? [] : out.slice(0, 1);
    },
  };
}

export function pyzorSink(deps: Deps): FeedbackSink {
  const { cfg, servers, account } = setup(deps.config);
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  return {
    name: 'pyzor',
    async learn(f) {
      if (!cfg.report || f.source !== 'user' || !servers.length) return;
      const digest = (await feedbackScan(f, scanner)).pyzor;
      if (digest === null) return;
      const op = f.class === 'spam' ? 'report' : 'whitelist';
      for (const s of await addresses(deps.resolver, servers)) {
        const r = await pyzorRequest(s, op, digest, { account, timeoutMs: cfg.timeout_ms }).catch((e: Error) => e);
        if (r instanceof Error || r.code !== 200)
          deps.log?.warn(
            { server: `${s.host}:${s.port}`, op, error: r instanceof Error ? r.message : r.diag },
            'pyzor report failed',
          );
      }
    },
  };
}
