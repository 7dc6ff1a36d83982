// DNS for spam checks: the server's one resolver with a per-lookup time limit and the pipeline's abort
// signal, so a dead nameserver costs at most spam.dns_timeout_ms per lookup and nothing after the budget;
// and the warning that a blocklist zone does not answer from here.
// Also the shape mailauth wants (node's `resolve(name, type)`), built on resolver.ts's adapter.
import type { Resolver } from '../core/ports.ts';
import { DnsError, nodeStyleResolver } from '../dns/resolver.ts';
import type { Logger } from '../telemetry/log.ts';

/** Wraps each lookup of `res` so it fails with a TEMPFAIL DnsError after `timeoutMs` or on abort. */
export function boundedResolver(res: Resolver, timeoutMs: number, signal?: AbortSignal): Resolver {
  const bound =
    <A extends unknown[], R>(kind: string, fn: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> => {
      if (signal?.aborted) return Promise.reject(new DnsError('TEMPFAIL', `${kind} ${a[0]}`, 'ECANCELLED'));
      return new Promise<R>((resolve, reject) => {
        const fail = (code: string) => {
          cleanup();
          reject(new DnsError('TEMPFAIL', `${kind} ${a[0]}`, code));
        };
        const onAbort = () => fail('ECANCELLED');
        const timer = setTimeout(() => fail('ETIMEOUT'), timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        fn(...a).then(
          (v) => {
            cleanup();
            resolve(v);
          },
          (e) => {
            cleanup();
            reject(e);
          },
        );
      });
    };
  return {
    mx: bound('MX', res.mx),
    a: bound('A', res.a),
    aaaa: bound('AAAA', res.aaaa),
    txt: bound('TXT', res.txt),
    ptr: bound('PTR', res.ptr),
  };
}

/** mailauth's resolver: node-style errors (ENOTFOUND, ENODATA, ETIMEOUT, ESERVFAIL) from the bounded resolver. */
export function mailauthResolver(res: Resolver, timeoutMs: number, signal?: AbortSignal) {
  return nodeStyleResolver(boundedResolver(res, timeoutMs, signal));
}

/**
 * A node-style resolver whose identical queries share one lookup, for the life of one message's check:
 * mailauth asks for the From domain's DMARC record, and the auth check asks again beside it (the policy a
 * timeout defers for) and for each further author domain. Each caller gets its own copy of the answer.
 */
export function sharedLookups(
  lookup: (name: string, type: string) => Promise<unknown[]>,
): (name: string, type: string) => Promise<unknown[]> {
  const asked = new Map<string, Promise<unknown[]>>();
  return (name, type) => {
    const key = `${type} ${name.toLowerCase().replace(/\.$/, '')}`;
    let answer = asked.get(key);
    if (!answer) {
      answer = lookup(name, type);
      asked.set(key, answer);
    }
    return answer.then((records) => records.slice());
  };
}

/** What a blocklist check calls when a zone answers with an error code or outside 127.0.0.0/8. */
export type ZoneTrouble = (zone: string, detail: string) => void;

const WARN_EVERY_MS = 3_600_000;

/**
 * Warns, at most once an hour per zone, that a blocklist zone refused a query or answered outside
 * 127.0.0.0/8 (rspamd logs such answers too): every lookup there scores nothing until the admin points
 * dns.nameservers at a resolver of their own, and a zero-score symbol in each verdict is easy to miss.
 */
export function zoneTroubleWarner(log: Logger | undefined): ZoneTrouble {
  const last = new Map<string, number>();
  return (zone, detail) => {
    const now = Date.now();
    if (!log || now - (last.get(zone) ?? -Infinity) < WARN_EVERY_MS) return;
    last.set(zone, now);
    log.warn({ zone, detail }, 'blocklist: the zone does not answer from here; its lookups score nothing');
  };
}
