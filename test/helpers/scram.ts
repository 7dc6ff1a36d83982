// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) in steps, for tests that interleave exchanges or
// read the server-first message (salts, iterations). test/helpers/scram-client.pl is the independent client.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { LineClient } from '../auth/line-client.ts';

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export interface ScramClient {
  /** client-first-message (gs2 header "n,,"), to send base64-encoded. */
  first: string;
  /** The salt and iteration count of a server-first-message. */
  params(serverFirst: string): { salt: string; iterations: number; nonce: string };
  /** client-final-message for `password` answering `serverFirst`. */
  final(serverFirst: string, password: string): string;
}

export function scramClient(user: string): ScramClient {
  const name = user.replace(/=/g, '=3D').replace(/,/g, '=2C');
  const cnonce = randomBytes(18).toString('base64');
  const bare = `n=${name},r=${cnonce}`;
  const params = (serverFirst: string) => {
    const a = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
    return { nonce: a.get('r') ?? '', salt: a.get('s') ?? '', iterations: Number(a.get('i')) };
  };
  return {
    first: `n,,${bare}`,
    params,
    final(serverFirst, password) {
      const { nonce, salt, iterations } = params(serverFirst);
      const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`;
      const signature = hmac(storedKey, `${bare},${serverFirst},${withoutProof}`);
      const proof = Buffer.alloc(32);
      for (let i = 0; i < 32; i++) proof[i] = clientKey[i] ^ signature[i];
      return `${withoutProof},p=${proof.toString('base64')}`;
    },
  };
}

/** The salt an IMAP server on `port` gives `user` in its server-first message (the exchange is then cancelled). */
export async function imapScramSalt(port: number, user: string): Promise<string> {
  const c = await LineClient.open(port);
  await c.line();
  const scram = scramClient(user);
  c.send(`a AUTHENTICATE SCRAM-SHA-256 ${Buffer.from(scram.first).toString('base64')}`);
  const first = (await c.line())!;
  c.send('*');
  await c.until(/^a /);
  c.close();
  return scram.params(Buffer.from(first.slice(2), 'base64').toString()).salt;
}
