// Pyzor: the message's body digest is checked against the configured Pyzor servers (in parallel, each
// under the timeout); PYZOR_CHECK when one counts enough spam reports and few whitelistings. The sink
// reports what users mark as spam, and whitelists what they mark as ham, when spam.pyzor.report is on.
import { isIP } from 'node:net';
import type { Config } from '../../config/schema.ts';
import type { Resolver } from '../../core/ports.ts';
import type { Logger } from '../../telemetry/log.ts';
import { type PyzorAccount, type PyzorServer, parseServer, pyzorRequest } from '../digest/pyzor-client.ts';
import { boundedResolver } from '../dns.ts';
import type { FeedbackSink } from '../feedback.ts';
import { type ContentScanner, contentScan, feedbackScan, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

interface Deps {
  config: Config;
  resolver: Resolver;
  log?: Logger;
  scanner?: ContentScanner;
}

/**
 * Server addresses: names resolved through our resolver (never the system's), IPs as they are; a name
 * that does not resolve is named in `failed` (it counts as a server that did not answer).
 */
async function addresses(
  resolver: Resolver,
  servers: PyzorServer[],
): Promise<{ targets: PyzorServer[]; failed: string[] }> {
  const targets: PyzorServer[] = [];
  const failed: string[] = [];
  for (const s of servers) {
    if (isIP(s.host)) targets.push(s);
    else {
      const ips = await resolver.a(s.host).catch((e: Error) => e);
      if (Array.isArray(ips) && ips[0]) targets.push({ host: ips[0], port: s.port });
      else failed.push(`${s.host}: ${ips instanceof Error ? ips.message : 'no address'}`);
    }
  }
  return { targets, failed };
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
      // A lookup of a check: spam.dns_timeout_ms and the pipeline's budget, as the other checks' are.
      const resolver = boundedResolver(deps.resolver, deps.config.spam.dns_timeout_ms, signal);
      const { targets, failed } = await addresses(resolver, servers);
      const replies = await Promise.all(
        targets.map((s) =>
          pyzorRequest(s, 'check', digest, { account, timeoutMs: cfg.timeout_ms, signal }).then(
            (r) => ({ s, r, e: null }),
            (e: Error) => ({ s, r: null, e }),
          ),
        ),
      );
      const out: SpamSymbol[] = failed.map((detail) => ({ name: 'PYZOR_FAIL', score: 0, detail }));
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
      const resolver = boundedResolver(deps.resolver, deps.config.spam.dns_timeout_ms);
      for (const s of (await addresses(resolver, servers)).targets) {
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
