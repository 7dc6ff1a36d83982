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

  static async open(port: number, opts: { tls?: boolean } = {}): Promise<{ c: RawImap; greeting: string }> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = opts.tls
        ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(s))
        : connect({ port, host: '127.0.0.1' }, () => resolve(s));
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

  /** The next line (without CRLF); a literal announced at its end is read and appended. */
  async line(timeoutMs = 5000): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        let line = this.buf.subarray(0, i).toString('utf8');
        let rest = this.buf.subarray(i + 2);
        const m = /~?\{(\d+)\}$/.exec(line);
        if (m) {
          const n = Number(m[1]);
          if (rest.length < n) {
            if (this.closed) throw new Error('connection closed');
            await this.waitData(timeoutMs);
            continue;
          }
          const lit = rest.subarray(0, n).toString('utf8');
          rest = rest.subarray(n);
          const j = rest.indexOf('\r\n');
          if (j < 0) {
            await this.waitData(timeoutMs);
            continue;
          }
          line = `${line}\r\n${lit}${rest.subarray(0, j).toString('utf8')}`;
          // a second literal on the same response line: keep it simple, tests avoid it
          rest = rest.subarray(j + 2);
        }
        this.buf = rest;
        return line;
      }
      await this.waitData(timeoutMs);
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
