// A raw IMAP client for transcript tests: sends exact bytes, collects lines (and literals) up to the
// tagged reply, so tests can assert the exact responses that matter.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface Tagged {
  /** Untagged and continuation lines before the tagged reply, literals inlined. */
  lines: string[];
  /** The tagged line, e.g. `a1 OK [READ-WRITE] SELECT completed`. */
  tagged: string;
  /** Everything received for this command, exactly. */
  raw: string;
}

export class RawImap {
  socket: Socket;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private n = 0;
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  /** `localAddress` (plain connections): connect from another loopback address (127.0.0.x), as another client. */
  static async open(
    port: number,
    opts: { tls?: boolean; localAddress?: string } = {},
  ): Promise<{ c: RawImap; greeting: string }> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = opts.tls
        ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(s))
        : connect({ port, host: '127.0.0.1', localAddress: opts.localAddress }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new RawImap(socket);
    const greeting = await c.line();
    return { c, greeting };
  }

  private async waitData(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout; have: ${this.buf.toString().slice(-300)}`)), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The next response line (without CRLF), with every literal it announces read and inlined. */
  async line(timeoutMs = 5000): Promise<string> {
    for (;;) {
      const got = this.parseLine();
      if (got !== null) return got;
      await this.waitData(timeoutMs);
    }
  }

  /** A complete line from the buffer (consumed), or null when more data is needed. */
  private parseLine(): string | null {
    let pos = 0;
    let out = '';
    for (;;) {
      const i = this.buf.indexOf('\r\n', pos);
      if (i < 0) return null;
      const seg = this.buf.subarray(pos, i).toString('utf8');
      const m = /~?\{(\d+)\+?\}$/.exec(seg);
      if (!m) {
        this.buf = this.buf.subarray(i + 2);
        return out + seg;
      }
      const n = Number(m[1]);
      if (this.buf.length < i + 2 + n) return null;
      out += `${seg}\r\n${this.buf.subarray(i + 2, i + 2 + n).toString('utf8')}`;
      pos = i + 2 + n;
    }
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends `tag command` and collects until the tagged reply. */
  async cmd(command: string, timeoutMs = 5000): Promise<Tagged> {
    const tag = `t${++this.n}`;
    this.send(`${tag} ${command}\r\n`);
    return this.until(tag, timeoutMs);
  }

  async until(tag: string, timeoutMs = 5000): Promise<Tagged> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      if (l.startsWith(`${tag} `)) return { lines, tagged: l, raw: [...lines, l].join('\r\n') };
      lines.push(l);
    }
  }

  nextTag(): string {
    return `t${++this.n}`;
  }

  close(): void {
    this.socket.destroy();
  }
}
