// Self-signed certificates for test servers (STARTTLS peers), named for the hosts a test connects to.
import selfsigned from 'selfsigned';

/** Valid for 7 more days; `issuedDaysAgo` backdates its start (e.g. 83: a 90-day certificate near its end). */
export async function selfSignedCert(names: string[], issuedDaysAgo = 0): Promise<{ cert: string; key: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: names[0] }], {
    keySize: 2048,
    notBeforeDate: new Date(Date.now() - issuedDaysAgo * 86400_000),
    notAfterDate: new Date(Date.now() + 7 * 86400_000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => ({ type: 2 as const, value: n })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * A server certificate for `names` issued by `ca` (a selfSignedCert, which is a CA), with its PEM chain
 * (leaf then CA) as a server sends it; `validDays` below 0 makes one that expired that many days ago.
 */
export async function issuedCert(
  names: string[],
  ca: { cert: string; key: string },
  validDays = 7,
): Promise<{ cert: string; key: string; leaf: string }> {
  const now = Date.now();
  const pems = await selfsigned.generate([{ name: 'commonName', value: names[0] }], {
    keySize: 2048,
    notBeforeDate: new Date(now - (validDays < 0 ? 30 : 1) * 86400_000),
    notAfterDate: new Date(now + validDays * 86400_000),
    algorithm: 'sha256',
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => ({ type: 2 as const, value: n })) },
    ],
  });
  return { cert: `${pems.cert.trim()}\n${ca.cert.trim()}\n`, key: pems.private, leaf: pems.cert };
}
