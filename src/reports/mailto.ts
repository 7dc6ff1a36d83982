// Report addresses given as mailto: URIs (DMARC rua, TLS-RPT rua): one address each, percent-decoded,
// with the size limit suffix "!10m" that RFC 7489 section 6.2 allowed.

export interface Destination {
  address: string;
  /** Largest report in octets the destination asked for, or null. */
  maxBytes: number | null;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const ADDRESS = /^[^@\s<>(),;:"\\[\]]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/i;

/** One rua URI as a destination, or null (not mailto, not one address, a bad size). */
export function parseUri(uri: string): Destination | null {
  const m = /^mailto:([^!?]+)(?:\?[^!]*)?(?:!(\d+)([kmgt]?))?$/i.exec(uri.trim());
  if (!m) return null;
  let address: string;
  try {
    address = decodeURIComponent(m[1]).trim();
  } catch {
    return null;
  }
  if (!ADDRESS.test(address)) return null;
  const maxBytes = m[2] ? Number(m[2]) * UNITS[(m[3] ?? '').toLowerCase()] : null;
  return { address, maxBytes };
}
