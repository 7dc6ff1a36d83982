// The client a trusted reverse proxy names in X-Forwarded-For: the last entry, an address with or without a
// port ("192.0.2.7:51234", "[2001:db8::1]:443", as HAProxy, Envoy and some load balancers write it).
import { isIP } from 'node:net';
import { normaliseAddress } from './connection.ts';

/**
 * The address of one X-Forwarded-For entry, or null for anything else ("unknown", an obfuscated name, a bad
 * port). The forms are RFC 7239 section 6's node syntax without its quotes: an IPv4 address, an IPv6 address
 * alone or in brackets, either followed by ":port" (an IPv6 address needs the brackets then: in
 * "2001:db8::1:443" the last group is part of the address). A port is 1 to 5 digits up to 65535.
 */
export function forwardedAddress(entry: string): string | null {
  const e = entry.trim();
  if (isIP(e)) return normaliseAddress(e);
  const m = /^(?:\[([0-9a-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3}))(?::(\d{1,5}))?$/i.exec(e);
  if (!m) return null;
  const port = m[3] === undefined ? 0 : Number(m[3]);
  if (port > 65535) return null;
  // Brackets hold IPv6 only (RFC 3986 section 3.2.2, RFC 7239 section 6): "[192.0.2.1]" is not a node.
  if (m[1] !== undefined) return isIP(m[1]) === 6 ? normaliseAddress(m[1]) : null;
  return isIP(m[2]) === 4 ? m[2] : null;
}

/**
 * Whom a request behind a trusted proxy comes from: the address in the last X-Forwarded-For entry, the one
 * the proxy appended (the entries before it are the client's to write), else `socket` (the proxy itself:
 * an entry that names no address must not give its sender an address of its own choosing, nor a fresh one
 * per request). `header` is node's value: several header lines arrive joined by ", ".
 *
 * The RFC 7239 Forwarded header is not read: a proxy that appends to X-Forwarded-For (nginx's
 * $proxy_add_x_forwarded_for) passes a client's own Forwarded header through untouched, so reading it too
 * would let the client choose its address; oauth.trust_proxy names X-Forwarded-For as the contract.
 */
export function forwardedClient(header: string | string[] | undefined, socket: string): string {
  const last = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').pop() ?? '';
  return forwardedAddress(last) ?? socket;
}
