// What `petrel config check` finds beyond the schema: the values the server parses when it starts (durations,
// spam rules, blocklist zones, weights, thresholds, traps, the clamd address), each parsed here the way the
// server parses it, so a mistake is found before a restart rather than by one that fails. Every problem is
// listed, not only the first. Reads the configuration only: no store, no network.
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import { parseClamdAddress } from '../spam/antivirus/clamd-client.ts';
import { parseZone as parseDnsblZone } from '../spam/checks/dnsbl.ts';
import { parseZone as parseUriblZone } from '../spam/checks/uribl.ts';
import { parseRules } from '../spam/content/rules.ts';
import { domainThresholds } from '../spam/inbound.ts';
import { parseWeights } from '../spam/pipeline.ts';
import { SpamTraps } from '../spam/traps.ts';

export function configProblems(c: Config): string[] {
  const problems: string[] = [];
  const attempt = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      problems.push((e as Error).message);
    }
  };
  const durations: [string, string][] = [
    ['queue.lifetime', c.queue.lifetime],
    ['queue.delay_warning', c.queue.delay_warning],
    ['retention.junk', c.retention.junk],
    ['retention.trash', c.retention.trash],
    ['smtp.send_limit_window', c.smtp.send_limit_window],
    ['spam.greylist.delay', c.spam.greylist.delay],
    ['spam.greylist.retry_window', c.spam.greylist.retry_window],
    ['spam.greylist.lifetime', c.spam.greylist.lifetime],
    ['spam.rate_limit.window', c.spam.rate_limit.window],
    ['spam.traps.client_memory', c.spam.traps.client_memory],
    ['spam.verdicts_keep', c.spam.verdicts_keep],
    ['spam.outbound.suspend_window', c.spam.outbound.suspend_window],
  ];
  for (const [key, value] of durations) attempt(() => parseDuration(value, key));
  const s = c.spam;
  attempt(() => parseRules(s.rules));
  attempt(() => parseWeights(s.weights));
  attempt(() => domainThresholds(s.domain_thresholds));
  attempt(() => new SpamTraps(s.traps.addresses, s.traps.learn));
  for (const z of s.dnsbl.zones) attempt(() => parseDnsblZone(z));
  for (const z of s.uribl.zones)
    if (!parseUriblZone(z)) problems.push(`spam.uribl.zones: "${z}" is not "zone SYMBOL[:score] [codes...]"`);
  if (s.antivirus.enabled && !parseClamdAddress(s.antivirus.clamd))
    problems.push(`spam.antivirus.clamd: "${s.antivirus.clamd}" is neither a socket path nor host:port`);
  return problems;
}
