// A minimal IMAP client for the search differential tests and benchmarks against Dovecot: tagged
// commands, LITERAL+ uploads, untagged lines collected per command. Not a general client.
import { connect, type Socket } from 'node:net';

export interface Reply {
  /** Untagged lines ("* ..."), without the leading "* " and line end. */
  untagged: string[];
  /** The tagged status: OK, NO or BAD, and its text. */
  status: string;
  text: string;
}

export class ImapClient {
  private sock: Socket;
  private buf = '';
  private waiters: (() => void)[] = [];
  private n = 0;
  greeting = '';

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('close', () => {
      for (const w of this.waiters.splice(0)) w();
    });
    // A server that dies (crash tests) ends the reply with "connection closed", not an unhandled error.
    sock.on('error', () => {});
  }

  static async open(port: number, host = '127.0.0.1'): Promise<ImapClient> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new ImapClient(sock);
    c.greeting = await c.line();
    return c;
  }

  private async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (this.sock.destroyed) throw new Error('connection closed');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Sends a command (parts joined; Buffers go as LITERAL+ literals) and collects its reply. */
  async command(...parts: (string | Buffer)[]): Promise<Reply> {
    const tag = `t${++this.n}`;
    const chunks: Buffer[] = [Buffer.from(`${tag} `)];
    for (const p of parts) {
      if (typeof p === 'string') chunks.push(Buffer.from(p, 'utf8'));
      else chunks.push(Buffer.from(`{${p.length}+}\r\n`), p);
    }
    chunks.push(Buffer.from('\r\n'));
    this.sock.write(Buffer.concat(chunks));
    const untagged: string[] = [];
    for (;;) {
      const l = await this.line();
      if (l.startsWith('* ')) untagged.push(l.slice(2));
      else if (l.startsWith(`${tag} `)) {
        const rest = l.slice(tag.length + 1);
        const sp = rest.indexOf(' ');
        return { untagged, status: sp < 0 ? rest : rest.slice(0, sp), text: sp < 0 ? '' : rest.slice(sp + 1) };
      }
    }
  }

  /** Like command, but throws unless the reply is OK. */
  async ok(...parts: (string | Buffer)[]): Promise<Reply> {
    const r = await this.command(...parts);
    if (r.status !== 'OK') throw new Error(`${String(parts[0]).slice(0, 60)}: ${r.status} ${r.text}`);
    return r;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Numbers of an untagged "SEARCH n n n" or "SORT n n" reply (a "(MODSEQ n)" tail dropped). */
export function numbersOf(r: Reply, name: string): number[] {
  const l = r.untagged.find((u) => u.startsWith(name));
  if (!l) return [];
  return l
    .slice(name.length)
    .replace(/\(MODSEQ \d+\)/, '')
    .trim()
    .split(' ')
    .filter(Boolean)
    .map(Number);
}

/** IMAP date-time for APPEND (RFC 9051 section 9, date-time), in UTC. */
export function imapDateTime(ms: number): string {
  const d = new Date(ms);
  const mon = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ')[d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `"${p(d.getUTCDate())}-${mon}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}
