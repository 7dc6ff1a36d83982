// Virus scanning: the whole message goes to ClamAV's clamd (spam/antivirus/clamd-client.ts). A virus found
// refuses the message during DATA/BDAT, sends it to Junk or scores it (spam.antivirus.action); a scanner
// that is down, fails or runs out of time defers the message (451: the sender retries, nothing is lost)
// or lets it through unscanned (spam.antivirus.on_error), as amavis's and rspamd's antivirus options do.
// A message too large for clamd (above max_size, or refused past its StreamMaxLength) is skipped.
import { isIP } from 'node:net';
import type { Config } from '../../config/schema.ts';
import type { Resolver } from '../../core/ports.ts';
import type { Logger } from '../../telemetry/log.ts';
import { instruments } from '../../telemetry/metrics.ts';
import {
  type ClamdAddress,
  type ClamdResult,
  ClamdTooLarge,
  clamdPing,
  clamdScan,
  describeClamd,
  parseClamdAddress,
} from '../antivirus/clamd-client.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

/** How often a failing scanner is logged at most (each deferred message is still in the verdicts). */
const LOG_EVERY_MS = 60_000;

type Deps = { config: Config; resolver: Resolver; log: Logger };

const isLocalhost = (host: string) => /^localhost\.?$/i.test(host);

/**
 * A host name is resolved through our resolver (never the system's), as for every other peer; but
 * "localhost", which no DNS server need know, is this host's loopback (RFC 6761 section 6.3): connected
 * to as named, over 127.0.0.1 or ::1 as the system maps it, as clamdscan does.
 */
async function target(a: ClamdAddress, resolver: Resolver): Promise<ClamdAddress> {
  if ('path' in a || isIP(a.host) || isLocalhost(a.host)) return a;
  // IPv4 first, then IPv6: a name with only AAAA (an IPv6-only network) is reached as getaddrinfo reaches it.
  const ip = (await resolver.a(a.host))[0] ?? (await resolver.aaaa(a.host))[0];
  if (!ip) throw new Error(`clamd ${a.host}: no address`);
  return { host: ip, port: a.port };
}

/** What the check and the submission scan share: the configured clamd, scanning, and failure logging. */
export function clamdScanner(deps: Deps, source: 'inbound' | 'submission') {
  const cfg = deps.config.spam.antivirus;
  const parsed = parseClamdAddress(cfg.clamd);
  if (!parsed) throw new Error(`spam.antivirus.clamd: "${cfg.clamd}" is neither a socket path nor host:port`);
  const addr = parsed;
  let lastLog = 0;

  /** Counts a failure and logs it, at most once a minute. */
  function failed(detail: string, msg = 'antivirus: scan failed') {
    instruments.virusScans.add(1, { result: 'error', source });
    const now = Date.now();
    if (now - lastLog > LOG_EVERY_MS) {
      lastLog = now;
      deps.log.warn({ clamd: describeClamd(addr), err: detail }, msg);
    }
  }
  return {
    cfg,
    async scan(raw: Buffer, signal?: AbortSignal) {
      const r = await clamdScan(await target(addr, deps.resolver), raw, { timeoutMs: cfg.timeout_ms, signal });
      instruments.virusScans.add(1, { result: r.infected ? 'infected' : 'clean', source });
      return r;
    },
    failed,
    /**
     * clamd refused a message as past its StreamMaxLength (max_size is above it): the message is skipped as
     * one above max_size is, since a deferral could never end otherwise (the retry is refused the same, and
     * the sender bounces it days later); Haraka's clamd plugin passes it on likewise. Counted as an error
     * and logged, so that the admin aligns the two limits.
     */
    tooLarge(size: number, detail: string): SpamSymbol {
      failed(
        detail,
        'antivirus: clamd refused a message as larger than its StreamMaxLength; set spam.antivirus.max_size to it (or raise StreamMaxLength)',
      );
      return { name: 'ANTIVIRUS_SKIPPED', score: 0, detail: `${size} octets: ${detail}` };
    },
  };
}

/** SMTP reply text when the scanner failed and on_error = defer: nothing about our scanner. */
const UNSCANNED = 'Message could not be scanned for viruses, try again later';

export function antivirusCheck(deps: Deps): SpamCheck {
  const scanner = clamdScanner(deps, 'inbound');
  const cfg = scanner.cfg;
  return {
    name: 'antivirus',
    // clamd is a service outside the process: off in `petrel spam check` and the benchmark, as the DNS checks.
    network: true,
    failed(detail) {
      scanner.failed(detail);
      // The reply to the sender says nothing of our scanner (its address is in the log and the verdict).
      return cfg.on_error === 'defer'
        ? [
            {
              name: 'ANTIVIRUS_FAIL',
              score: 0,
              force: 'greylist',
              // Not greylisting: no sender, trusted or not, gets mail in unscanned.
              always: true,
              detail: UNSCANNED,
            },
          ]
        : [{ name: 'ANTIVIRUS_FAIL', score: 0, detail }];
    },
    async run(ctx, signal) {
      if (ctx.raw.length > cfg.max_size)
        return [{ name: 'ANTIVIRUS_SKIPPED', score: 0, detail: `${ctx.raw.length} octets > ${cfg.max_size}` }];
      let r: ClamdResult;
      try {
        r = await scanner.scan(ctx.raw, signal);
      } catch (e) {
        if (e instanceof ClamdTooLarge) return [scanner.tooLarge(ctx.raw.length, e.message)];
        throw e;
      }
      if (!r.infected) return [{ name: 'ANTIVIRUS_CLEAN', score: 0 }];
      const found: SpamSymbol = { name: 'VIRUS_FOUND', score: cfg.score, detail: r.name };
      if (cfg.action === 'reject')
        return [{ ...found, force: 'reject', always: true, detail: `Virus found: ${r.name}` }];
      if (cfg.action === 'junk') return [{ ...found, force: 'junk', always: true }];
      return [found];
    },
  };
}

/**
 * The scan of what our own users and trusted networks send (spam.antivirus.scan_submission): the spam
 * pipeline does not run on that mail, the virus scan does (as amavis's ORIGINATING policy): an infected
 * message is refused before it is queued, so a user's infected machine cannot send malware in our name.
 * Returns the refusal (or deferral) reply, or null to go on.
 */
export function submissionVirusScan(
  deps: Deps,
): ((raw: Buffer) => Promise<{ code: number; enhanced: string; text: string } | null>) | undefined {
  const cfg = deps.config.spam.antivirus;
  if (!cfg.enabled || !cfg.scan_submission) return undefined;
  const scanner = clamdScanner(deps, 'submission');
  return async (raw) => {
    if (raw.length > cfg.max_size) return null;
    try {
      const r = await scanner.scan(raw);
      return r.infected ? { code: 554, enhanced: '5.7.1', text: `Virus found: ${r.name}` } : null;
    } catch (e) {
      if (e instanceof ClamdTooLarge) {
        scanner.tooLarge(raw.length, e.message);
        return null;
      }
      scanner.failed((e as Error).message);
      return cfg.on_error === 'defer' ? { code: 451, enhanced: '4.7.1', text: UNSCANNED } : null;
    }
  };
}

/** At start: a warning when the configured clamd does not answer PING (mail would be deferred or unscanned). */
export async function pingClamdAtStart(config: Config, log: Logger, resolver: Resolver): Promise<void> {
  const cfg = config.spam.antivirus;
  if (!cfg.enabled) return;
  if (!config.spam.enabled)
    log.warn(
      'antivirus: spam.enabled is false, so mail from the internet is not scanned (only submissions are, with scan_submission)',
    );
  const addr = parseClamdAddress(cfg.clamd);
  if (!addr) return;
  // A host name is looked up as for each message: a name that does not resolve is a clamd that does not answer.
  const answers = await target(addr, resolver).then(
    (a) => clamdPing(a, cfg.timeout_ms),
    () => false,
  );
  if (answers) log.info({ clamd: describeClamd(addr) }, 'antivirus: clamd answers');
  else
    log.warn(
      { clamd: describeClamd(addr), on_error: cfg.on_error },
      'antivirus: clamd does not answer; messages will be deferred or accepted unscanned (spam.antivirus.on_error)',
    );
}
