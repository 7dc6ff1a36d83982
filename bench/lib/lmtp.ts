// A minimal LMTP/SMTP client for benchmarks: one connection, one message at a time, replies awaited.
import { connect, type Socket } from 'node:net';

export class LineClient {
  private sock: Socket;
  private buf = '';
  private waiters: ((line: string) => void)[] = [];
  private lines: string[] = [];

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (d) => {
      this.buf += d.toString('latin1');
      let i = this.buf.indexOf('\n');
      while (i >= 0) {
        const line = this.buf.slice(0, i).replace(/\r$/, '');
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
        i = this.buf.indexOf('\n');
      }
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }

  line(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.waiters.push(r));
  }

  /** Reads a (possibly multi-line) SMTP-style reply; returns its last line. */
  async reply(): Promise<string> {
    for (;;) {
      const l = await this.line();
      if (l[3] !== '-') return l;
    }
  }

  write(s: string | Buffer): void {
    this.sock.write(s);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Dot-stuffs a CRLF message and appends the end-of-data line. */
export function dataBlock(raw: Buffer): Buffer {
  const s = raw.toString('latin1').replace(/^\./gm, '..');
  return Buffer.from((s.endsWith('\r\n') ? s : s + '\r\n') + '.\r\n', 'latin1');
}
