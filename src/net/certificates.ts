// The certificates Petrel serves, chosen per connection by SNI: a default (configured or self-signed),
// per-domain certificates from files, certificates issued by ACME, and TLS-ALPN-01 validation
// certificates while a challenge is pending. Replacing a source swaps contexts for new handshakes only;
// open connections keep the context they negotiated.
import { X509Certificate } from 'node:crypto';
import type { SecureContext, TLSSocketOptions } from 'node:tls';
import { domainToASCII } from 'node:url';
import { type ServerTls, secureContext, type TlsMaterial, type TlsSettings } from './tls.ts';

/** One certificate and the names it is served for (exact names, or "*.example.com" wildcards). */
export interface CertificateEntry {
  names: string[];
  cert: string;
  key: string;
}

/** Where a certificate came from; earlier sources win when several cover a name. */
export type CertificateSource = 'files' | 'acme';
const SOURCE_ORDER: CertificateSource[] = ['files', 'acme'];

interface Served {
  names: string[];
  context: SecureContext;
  notAfter: Date | null;
  cert: string;
}

export class CertificateSet implements ServerTls {
  private readonly settings: TlsSettings;
  private readonly hostname: string;
  private fallback: { context: SecureContext; selfSigned: boolean; cert: string } | null = null;
  private sources = new Map<CertificateSource, Served[]>();
  /** Lower-case name -> context, rebuilt whenever a source changes. */
  private exact = new Map<string, Served>();
  private readonly alpn = new Map<string, SecureContext>();
  private shared: ((name: string) => Promise<{ cert: string; key: string } | null>) | null = null;

  constructor(settings: TlsSettings, hostname: string) {
    this.settings = settings;
    this.hostname = dnsName(hostname);
  }

  /** The certificate for clients that send no SNI or a name nothing else covers. */
  setDefault(m: TlsMaterial): void {
    this.update(m, {});
  }

  /** Replaces every certificate of one source (contexts are built first: a bad pair throws, nothing changes). */
  replace(source: CertificateSource, entries: CertificateEntry[]): void {
    this.update(null, { [source]: entries });
  }

  /**
   * Replaces the default (when given) and the given sources at once. Every context is built before
   * anything is swapped, so a bad certificate or key throws and the set serves what it served before.
   */
  update(fallback: TlsMaterial | null, sources: Partial<Record<CertificateSource, CertificateEntry[]>>): void {
    const def = fallback
      ? { context: secureContext(fallback, this.settings), selfSigned: fallback.selfSigned, cert: fallback.cert }
      : this.fallback;
    const built = new Map(this.sources);
    for (const [source, entries] of Object.entries(sources) as [CertificateSource, CertificateEntry[]][])
      built.set(
        source,
        entries.map((e) => ({
          names: e.names.map(dnsName),
          context: secureContext(e, this.settings),
          notAfter: expiry(e.cert),
          cert: e.cert,
        })),
      );
    const exact = new Map<string, Served>();
    for (const s of SOURCE_ORDER)
      for (const entry of built.get(s) ?? []) for (const n of entry.names) if (!exact.has(n)) exact.set(n, entry);
    this.fallback = def;
    this.sources = built;
    this.exact = exact;
  }

  /** Expiry of the certificate served for a name by a source (ACME renewal decisions). */
  expiryOf(source: CertificateSource, name: string): Date | null {
    const n = dnsName(name);
    return this.sources.get(source)?.find((e) => e.names.includes(n))?.notAfter ?? null;
  }

  private lookup(servername: string): Served | null {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const hit = this.exact.get(name);
    if (hit) return hit;
    // A wildcard covers exactly one label (RFC 6125 section 6.4.3).
    const dot = name.indexOf('.');
    return dot > 0 ? (this.exact.get(`*${name.slice(dot)}`) ?? null) : null;
  }

  /** Whether a client asking for `servername` gets the self-signed default this data directory made. */
  selfSignedFor(servername: string | undefined): boolean {
    return this.served(servername) === this.fallback && !!this.fallback?.selfSigned;
  }

  /** What a handshake gets: by SNI, else the default (an issued certificate for the host name beats a self-signed default). */
  private served(servername: string | undefined): { context: SecureContext; cert: string } {
    const hit = servername ? this.lookup(servername) : null;
    if (hit) return hit;
    if (!this.fallback) throw new Error('TLS is not configured');
    if (this.fallback.selfSigned) {
      const own = this.lookup(this.hostname);
      if (own) return own;
    }
    return this.fallback;
  }

  contextFor(servername: string | undefined): SecureContext {
    return this.served(servername).context;
  }

  /** The certificate (PEM, the chain as configured) a client asking for `servername` is shown. */
  certificateFor(servername: string | undefined): string {
    return this.served(servername).cert;
  }

  socketOptions(): TLSSocketOptions {
    return {
      isServer: true,
      secureContext: this.contextFor(undefined),
      SNICallback: (servername, cb) => {
        try {
          cb(null, this.contextFor(servername));
        } catch (e) {
          cb(e as Error, undefined);
        }
      },
    };
  }

  /** TLS-ALPN-01 (RFC 8737 section 3): serve this validation certificate to acme-tls/1 clients for a name. */
  setAlpnChallenge(name: string, pair: { cert: string; key: string } | null): void {
    const n = name.toLowerCase();
    if (pair) this.alpn.set(n, secureContext(pair, this.settings));
    else this.alpn.delete(n);
  }

  /**
   * Challenges other nodes store (a cluster's TLS-ALPN-01, where the CA reaches any node): every ClientHello
   * is then read first, and one offering acme-tls/1 for a name with no challenge here is looked up.
   */
  setSharedAlpnChallenges(lookup: (name: string) => Promise<{ cert: string; key: string } | null>): void {
    this.shared = lookup;
  }

  hasAlpnChallenges(): boolean {
    return this.alpn.size > 0 || this.shared !== null;
  }

  async alpnChallenge(servername: string): Promise<SecureContext | null> {
    const n = servername.toLowerCase();
    const here = this.alpn.get(n);
    if (here || !this.shared) return here ?? null;
    const pair = await this.shared(n).catch(() => null);
    return pair ? secureContext(pair, this.settings) : null;
  }
}

/**
 * A configured name as clients send it in SNI (RFC 6066 section 3: ASCII, IDNs as A-labels, RFC 5890):
 * lower case, no final dot, a U-label ("bücher.example") turned into its A-label ("xn--bcher-kva.example").
 */
export function dnsName(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  return domainToASCII(n) || n;
}

/** The names a certificate covers (subjectAltName DNS entries, else its CN). */
export function certificateNames(pem: string): string[] {
  const x = new X509Certificate(pem);
  const alt = (x.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (alt.length) return alt;
  const cn = /CN=([^\n]+)/.exec(x.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

function expiry(pem: string): Date | null {
  try {
    return new Date(new X509Certificate(pem).validTo);
  } catch {
    return null;
  }
}
