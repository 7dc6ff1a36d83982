// What `petrel config check` finds beyond the schema: the values the server parses when it starts (durations,
// addresses, TLS ciphers, the OTLP URL, spam rules, blocklist zones, weights, thresholds, traps, the clamd
// address), each parsed here the way the server parses it, so a mistake is found before a restart rather
// than by one that fails. `serve` runs it first too. Every problem is listed, not only the first. Reads the
// configuration (and whether the data directory can be made, and the [tls] certificate files): no store,
// no network.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { parseDuration } from '../config/duration.ts';
import { fieldPaths } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { parseNameserver } from '../dns/secure.ts';
import { parseClamdAddress } from '../spam/antivirus/clamd-client.ts';
import { parseZone as parseDnsblZone, skipsTxt } from '../spam/checks/dnsbl.ts';
import { parseEblZone } from '../spam/checks/ebl.ts';
import { parseZone as parseUriblZone } from '../spam/checks/uribl.ts';
import { parseRules } from '../spam/content/rules.ts';
import { domainThresholds } from '../spam/inbound.ts';
import { parseWeights } from '../spam/pipeline.ts';
import { SpamTraps } from '../spam/traps.ts';
import { dataDirProblem } from './open-storage.ts';

export function configProblems(c: Config): string[] {
  const problems: string[] = [];
  const attempt = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      problems.push((e as Error).message);
    }
  };
  // Every duration the schema marks, so a new one cannot be left out of the check.
  for (const [key, f] of fieldPaths()) {
    if (!f.duration) continue;
    const v = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c) as string | string[];
    if (Array.isArray(v)) for (const [i, d] of v.entries()) attempt(() => parseDuration(d, `${key}[${i}]`));
    else attempt(() => parseDuration(v, key));
  }
  const dataDir = dataDirProblem(resolve(c.server.data_dir));
  if (dataDir) problems.push(dataDir);
  if (c.store.backend === 'postgres' && !c.store.postgres_url)
    problems.push('store.postgres_url: empty, but store.backend is "postgres"');
  // Addresses: a name here would be looked up (or fail) only when the resolver or a listener starts.
  for (const ns of c.dns.nameservers) {
    const { host, port } = parseNameserver(ns);
    if (!isIP(host) || !(port >= 1 && port <= 65535))
      problems.push(
        `dns.nameservers: "${ns}" is not an IP address with an optional port ("ip", "ip:port", "[v6]:port")`,
      );
  }
  for (const [name, l] of Object.entries(c.listeners))
    if (l.enabled && !isIP(l.bind))
      problems.push(`listeners.${name}.bind: "${l.bind}" is not an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0, ::)`);
  attempt(() => {
    try {
      createSecureContext({ ciphers: c.tls.ciphers, minVersion: c.tls.min_version });
    } catch (e) {
      throw new Error(`tls.ciphers: OpenSSL accepts none of "${c.tls.ciphers}" (${(e as Error).message})`);
    }
  });
  problems.push(...tlsFileProblems(c));
  if (c.otlp.endpoint && !/^https?:$/.test(URL.parse(c.otlp.endpoint)?.protocol ?? ''))
    problems.push(`otlp.endpoint: "${c.otlp.endpoint}" is not an http:// or https:// URL`);
  const s = c.spam;
  attempt(() => parseRules(s.rules));
  attempt(() => parseWeights(s.weights));
  attempt(() => domainThresholds(s.domain_thresholds));
  attempt(() => new SpamTraps(s.traps.addresses, s.traps.learn));
  for (const z of s.dnsbl.zones) attempt(() => parseDnsblZone(z));
  // A skip_txt entry that names no zone (a typo, or the zone's key left out) would skip nothing.
  const dnsblZones = s.dnsbl.zones.map((z) => z.split('=')[0].trim().toLowerCase().replace(/\.$/, ''));
  for (const e of s.dnsbl.skip_txt)
    if (!dnsblZones.some((z) => skipsTxt([e], z)))
      problems.push(`spam.dnsbl.skip_txt: "${e}" is none of spam.dnsbl.zones`);
  for (const z of s.uribl.zones)
    attempt(() => {
      if (!parseUriblZone(z)) throw new Error(`spam.uribl.zones: "${z}" is not "zone SYMBOL[:score] [codes...]"`);
    });
  for (const z of s.ebl.zones) attempt(() => parseEblZone(z));
  if (s.antivirus.enabled && !parseClamdAddress(s.antivirus.clamd))
    problems.push(`spam.antivirus.clamd: "${s.antivirus.clamd}" is neither a socket path nor host:port`);
  return problems;
}

/** The configured certificate files, read and parsed as the server reads them when it starts (and reloads). */
function tlsFileProblems(c: Config): string[] {
  const problems: string[] = [];
  const pair = (label: string, certPath: string, keyPath: string) => {
    const read = (key: string, path: string) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (e) {
        problems.push(
          `${label}.${key}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        );
        return null;
      }
    };
    const certPem = read('cert', certPath);
    const keyPem = read('key', keyPath);
    let cert: X509Certificate | null = null;
    let key: ReturnType<typeof createPrivateKey> | null = null;
    if (certPem !== null)
      try {
        cert = new X509Certificate(certPem);
      } catch {
        problems.push(`${label}.cert: ${certPath} is not a PEM certificate`);
      }
    if (keyPem !== null)
      try {
        key = createPrivateKey(keyPem);
      } catch {
        problems.push(`${label}.key: ${keyPath} is not a PEM private key`);
      }
    if (cert && key && !cert.checkPrivateKey(key))
      problems.push(`${label}: ${certPath} and ${keyPath} do not go together (the key is not the certificate's)`);
  };
  const t = c.tls;
  if (t.cert || t.key) {
    if (!t.cert || !t.key) problems.push('tls.cert and tls.key must be set together');
    else pair('tls', t.cert, t.key);
  }
  for (const [i, e] of t.certificates.entries()) {
    if (!e.cert || !e.key) problems.push(`tls.certificates[${i}]: every [[tls.certificates]] entry needs cert and key`);
    else pair(`tls.certificates[${i}]`, e.cert, e.key);
  }
  return problems;
}
