// TLS material and settings: the configured certificate or a self-signed one made on first start in
// <data_dir>/tls, and the protocol versions and ciphers every listener uses.
import { constants, createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type TLSSocketOptions } from 'node:tls';
import selfsigned from 'selfsigned';
import { writeFileAtomic } from '../core/durable-file.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
  selfSigned: boolean;
}

/** Protocol settings shared by every context Petrel serves. */
export interface TlsSettings {
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list; TLS_* names set the TLS 1.3 suites, the rest the TLS 1.2 ciphers. */
  ciphers: string;
}

/** Loads cert/key from the given paths, or creates (once) and loads a self-signed pair under dir. */
export async function loadTlsMaterial(opts: {
  certPath: string;
  keyPath: string;
  dir: string;
  hostname: string;
}): Promise<TlsMaterial> {
  if (opts.certPath || opts.keyPath) {
    if (!opts.certPath || !opts.keyPath) throw new Error('tls.cert and tls.key must be set together');
    return { cert: readFileSync(opts.certPath, 'utf8'), key: readFileSync(opts.keyPath, 'utf8'), selfSigned: false };
  }
  const certFile = join(opts.dir, 'self-signed.crt');
  const keyFile = join(opts.dir, 'self-signed.key');
  // A pair that does not load (cut short by a crash while it was written) is made again, not a failed start.
  if (!existsSync(certFile) || !existsSync(keyFile) || !pairLoads(certFile, keyFile)) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const names = [...new Set([opts.hostname, 'localhost'])];
    const pems = await selfsigned.generate([{ name: 'commonName', value: opts.hostname }], {
      keySize: 2048,
      notAfterDate: new Date(Date.now() + 3650 * 86400_000),
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [...names.map((n) => ({ type: 2 as const, value: n })), { type: 7 as const, ip: '127.0.0.1' }],
        },
      ],
    });
    writeFileAtomic(keyFile, pems.private, 0o600);
    writeFileAtomic(certFile, pems.cert, 0o644);
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), selfSigned: true };
}

function pairLoads(certFile: string, keyFile: string): boolean {
  try {
    const key = createPrivateKey(readFileSync(keyFile));
    return new X509Certificate(readFileSync(certFile)).checkPrivateKey(key);
  } catch {
    return false;
  }
}

/**
 * A server context for one certificate with Petrel's protocol settings: every listener's, STARTTLS's and
 * the TLS-ALPN-01 validation certificates'.
 */
export function secureContext(m: { cert: string; key: string }, s: TlsSettings): SecureContext {
  return createSecureContext({
    cert: m.cert,
    key: m.key,
    minVersion: s.minVersion,
    maxVersion: 'TLSv1.3',
    ciphers: s.ciphers,
    honorCipherOrder: true,
    // TLS 1.2 client-initiated renegotiation is refused (a no_renegotiation alert), as Postfix and Dovecot
    // do: each one costs a full handshake with a private-key signature, so one connection could make the
    // server sign without end. TLS 1.3 has no renegotiation (RFC 8446 section 4.1.2).
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  });
}

/**
 * What a server-side TLS endpoint needs: the options of a server TLSSocket (default certificate plus SNI
 * selection), and the TLS-ALPN-01 validation certificates while an ACME challenge is pending (RFC 8737).
 */
export interface ServerTls {
  socketOptions(): TLSSocketOptions;
  /**
   * True while some ACME TLS-ALPN-01 challenge waits (or, in a cluster ordering by TLS-ALPN-01, always):
   * only then does a listener peek at ClientHellos.
   */
  hasAlpnChallenges(): boolean;
  /** The validation certificate for a name with a pending TLS-ALPN-01 challenge. */
  alpnChallenge(servername: string): SecureContext | null | Promise<SecureContext | null>;
}
