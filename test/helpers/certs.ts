// Self-signed certificates for test servers (STARTTLS peers), named for the hosts a test connects to.
import selfsigned from 'selfsigned';

export async function selfSignedCert(names: string[]): Promise<{ cert: string; key: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: names[0] }], {
    keySize: 2048,
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
