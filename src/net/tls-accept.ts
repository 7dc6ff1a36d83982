// Server side of a TLS handshake on an accepted TCP socket (implicit TLS listeners, HTTPS). While an
// ACME TLS-ALPN-01 challenge is pending, the ClientHello is read first: a client offering the
// "acme-tls/1" protocol for a name under validation gets the validation certificate (RFC 8737 section 3)
// and no service. OpenSSL picks the certificate before it looks at ALPN, so the choice must be made
// before the handshake starts, not in a callback.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { ServerTls } from './tls.ts';

export const ACME_TLS_ALPN = 'acme-tls/1';
/** A TLS record carries at most 2^14 octets of plaintext (RFC 8446 section 5.1). */
const MAX_RECORD = 5 + 16384;

/**
 * Completes a server handshake. Resolves with the TLS socket for the protocol, or null when the
 * connection was an ACME validation (answered here, then closed by the CA).
 */
export async function acceptTls(socket: Socket, tls: ServerTls, timeoutMs: number): Promise<TLSSocket | null> {
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  let validating = false;
  try {
    if (tls.hasAlpnChallenges()) {
      const hello = await readFirstRecord(socket);
      socket.unshift(hello);
      const info = parseClientHello(hello);
      const validation = info?.alpn.includes(ACME_TLS_ALPN) && info.sni ? await tls.alpnChallenge(info.sni) : null;
      if (validation) {
        const v = new TLSSocket(socket, { isServer: true, secureContext: validation, ALPNProtocols: [ACME_TLS_ALPN] });
        v.on('error', () => socket.destroy());
        v.once('end', () => v.destroy()); // half-open sockets are allowed: a FIN ends nothing by itself
        // The handshake timeout holds here too, until 'secure': a client that sends this ClientHello and
        // stalls is dropped like any other. The CA then has 5 s to read the certificate.
        validating = true;
        socket.once('close', () => clearTimeout(timer));
        v.once('secure', () => {
          clearTimeout(timer);
          setTimeout(() => v.destroy(), 5000).unref();
        });
        return null;
      }
    }
    const t = new TLSSocket(socket, tls.socketOptions());
    t.on('error', () => socket.destroy());
    surfaceTlsErrors(t);
    await new Promise<void>((resolve, reject) => {
      t.once('secure', resolve);
      t.once('error', reject);
      // The listener allows half-open sockets: a FIN before the handshake is done would not end it.
      t.once('end', () => reject(new Error('closed during TLS handshake')));
      socket.once('close', () => reject(new Error('closed during TLS handshake')));
    });
    return t;
  } finally {
    if (!validating) clearTimeout(timer);
  }
}

/**
 * Lets TLS errors after the handshake (a record that fails to decrypt, bad_record_mac) reach the server
 * socket's 'error' listeners, which must close the connection. A server TLSSocket keeps them to itself until
 * _releaseControl(), which tls.Server calls on 'secure' and nothing public does (Node 24): without it such
 * an error only emits the internal '_tlsError' event and the connection stays open until an idle timeout.
 * Released in the 'secure' listener itself: a corrupt record in the same read as the client's Finished is
 * decrypted before any later callback runs.
 */
export function surfaceTlsErrors(t: TLSSocket): void {
  t.once('secure', () => (t as unknown as { _releaseControl(): boolean })._releaseControl());
}

/** Reads until the first TLS record is complete (bounded: one record), then pauses the socket. */
function readFirstRecord(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 5 && (buf[0] !== 0x16 || buf.length >= 5 + buf.readUInt16BE(3) || buf.length >= MAX_RECORD))
        done(null);
    };
    const onClose = () => done(new Error('closed before ClientHello'));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('end', onClose);
  });
}

/** Server name and offered ALPN protocols from a ClientHello record, or null when it is not one. */
export function parseClientHello(rec: Buffer): { sni: string | null; alpn: string[] } | null {
  try {
    // Record header (type 22 = handshake), then handshake header (type 1 = ClientHello, RFC 8446 4.1.2).
    if (rec[0] !== 0x16 || rec[5] !== 0x01) return null;
    const end = Math.min(rec.length, 5 + rec.readUInt16BE(3));
    let p = 9 + 2 + 32; // handshake header, legacy_version, random
    p += 1 + rec[p]; // legacy_session_id
    p += 2 + rec.readUInt16BE(p); // cipher_suites
    p += 1 + rec[p]; // legacy_compression_methods
    if (p + 2 > end) return { sni: null, alpn: [] };
    const extEnd = Math.min(end, p + 2 + rec.readUInt16BE(p));
    p += 2;
    let sni: string | null = null;
    const alpn: string[] = [];
    while (p + 4 <= extEnd) {
      const type = rec.readUInt16BE(p);
      const len = rec.readUInt16BE(p + 2);
      const body = rec.subarray(p + 4, Math.min(p + 4 + len, extEnd));
      p += 4 + len;
      if (type === 0 && body.length >= 5 && body[2] === 0) {
        // server_name (RFC 6066 section 3): list length, name type 0 (host_name), length, name
        const n = body.readUInt16BE(3);
        sni = body.subarray(5, 5 + n).toString('ascii');
      } else if (type === 16 && body.length >= 2) {
        // application_layer_protocol_negotiation (RFC 7301 section 3.1)
        let q = 2;
        while (q < body.length) {
          const n = body[q];
          alpn.push(body.subarray(q + 1, q + 1 + n).toString('ascii'));
          q += 1 + n;
        }
      }
    }
    return { sni, alpn };
  } catch {
    return null;
  }
}
