// A Pyzor client (protocol 2.1 over UDP): a request is a block of RFC 5322-style "Name: value" lines
// (Op, Op-Digest, Thread, PV, User, Time, Sig); the reply carries Code, Diag, Thread and, for check, Count
// and WL-Count. Requests are signed: Sig = SHA1hex(SHA1(request without Sig) + ":" + Time + ":" + K) with
// K = SHA1hex(user + ":" + lower(key)); the anonymous account signs with an empty key.
import { createHash, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

export const PROTOCOL_VERSION = '2.1';
export const ANONYMOUS = 'anonymous';

export interface PyzorAccount {
  user: string;
  /** The account key; "salt,key" (the accounts file form) is accepted, only the key is used. */
  key: string;
}

export interface PyzorServer {
  host: string;
  port: number;
}

export type PyzorOp = 'check' | 'report' | 'whitelist' | 'info' | 'ping';

export interface PyzorReply {
  code: number;
  diag: string;
  count: number;
  wlCount: number;
  fields: Map<string, string>;
}

/** Parses "host:port" ("[v6]:port"); the default port is 24441. */
export function parseServer(s: string): PyzorServer | null {
  const m = /^\[([^\]]+)\](?::(\d+))?$|^([^:]+)(?::(\d+))?$/.exec(s.trim());
  if (!m) return null;
  const host = m[1] ?? m[3];
  const port = Number(m[2] ?? m[4] ?? 24441);
  return host && port > 0 && port < 65536 ? { host, port } : null;
}

const sha1 = (data: string | Buffer) => createHash('sha1').update(data);

/** The signature of a request text (without its Sig line), per pyzor's account scheme. */
export function sign(text: string, account: PyzorAccount, time: number): string {
  const key = account.key.includes(',') ? account.key.slice(account.key.indexOf(',') + 1) : account.key;
  const hashedKey = sha1(`${account.user}:${key.toLowerCase()}`).digest('hex');
  const inner = sha1(Buffer.from(text.trim(), 'utf8')).digest();
  return sha1(Buffer.concat([inner, Buffer.from(`:${time}:${hashedKey}`, 'utf8')])).digest('hex');
}

/** The request datagram for one operation. */
export function buildRequest(
  op: PyzorOp,
  digest: string | null,
  account: PyzorAccount,
  thread: number,
  time: number,
): string {
  const lines = [`Op: ${op}`];
  if (digest) lines.push(`Op-Digest: ${digest}`);
  // report and whitelist carry the digest spec the client used (pyzor's fixed one).
  if (op === 'report' || op === 'whitelist') lines.push('Op-Spec: 20,3,60,3');
  lines.push(`Thread: ${thread}`, `PV: ${PROTOCOL_VERSION}`, `User: ${account.user}`, `Time: ${time}`);
  const text = `${lines.join('\n')}\n\n`;
  return `${lines.join('\n')}\nSig: ${sign(text, account, time)}\n\n`;
}

export function parseReply(packet: Buffer): PyzorReply {
  const fields = new Map<string, string>();
  for (const line of packet.toString('utf8').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const n = (k: string) => {
    const v = Number(fields.get(k));
    return Number.isFinite(v) ? v : 0;
  };
  return { code: n('code'), diag: fields.get('diag') ?? '', count: n('count'), wlCount: n('wl-count'), fields };
}

/** Sends one request and waits for the server's reply with the same Thread (or rejects on timeout or abort). */
export function pyzorRequest(
  server: PyzorServer,
  op: PyzorOp,
  digest: string | null,
  opts: { account?: PyzorAccount; timeoutMs: number; signal?: AbortSignal },
): Promise<PyzorReply> {
  const account = opts.account ?? { user: ANONYMOUS, key: '' };
  // Threads below 1024 are reserved (pyzor message.ThreadId).
  const thread = randomInt(1024, 65536);
  const request = Buffer.from(buildRequest(op, digest, account, thread, Math.floor(Date.now() / 1000)), 'utf8');
  const sock = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
  return new Promise<PyzorReply>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, reply?: PyzorReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const onAbort = () => finish(new Error('pyzor: aborted'));
    const timer = setTimeout(() => finish(new Error(`pyzor ${server.host}:${server.port}: no reply`)), opts.timeoutMs);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e) => finish(e));
    sock.on('message', (msg) => {
      if (msg.length > 8192) return;
      const reply = parseReply(msg);
      if (reply.fields.get('thread') === String(thread)) finish(null, reply);
    });
    // Connected, as pyzor's own client is: the kernel passes on only datagrams from the server's address
    // and port, so a reply forged from elsewhere (a spam count, or a count of 0 for a reported message) is
    // never read, and a closed port fails at once (ICMP port unreachable) instead of at the timeout.
    sock.connect(server.port, server.host, () => {
      if (done) return;
      sock.send(request, (e) => {
        if (e) finish(e);
      });
    });
  });
}
