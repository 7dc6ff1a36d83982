// A lean IMAP client for benchmarks: streams responses, skipping literals by count, and keeps only the
// tagged line and (optionally) untagged lines, so a 50 MB FETCH costs the client next to nothing.
import { connect, type Socket } from 'node:net';

export class BenchImap {
  private socket: Socket;
  private line: Buffer[] = [];
  private literalLeft = 0;
  private waiter: {
    tag: string;
    resolve: (r: { tagged: string; lines: string[]; bytes: number }) => void;
    reject: (e: Error) => void;
    lines: string[] | null;
    bytes: number;
  } | null = null;
  private n = 0;
  private onLine: ((l: string) => void) | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.feed(d));
    socket.on('error', () => {});
    socket.on('close', () => this.waiter?.reject(new Error('connection closed')));
  }

  static async open(port: number): Promise<BenchImap> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new BenchImap(socket);
    await new Promise<void>((resolve) => {
      c.onLine = () => {
        c.onLine = null;
        resolve();
      };
    });
    return c;
  }

  private feed(d: Buffer) {
    let i = 0;
    if (this.waiter) this.waiter.bytes += d.length;
    while (i < d.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, d.length - i);
        this.literalLeft -= take;
        i += take;
        continue;
      }
      const lf = d.indexOf(10, i);
      if (lf < 0) {
        this.line.push(d.subarray(i));
        return;
      }
      const line = this.line.length ? Buffer.concat([...this.line, d.subarray(i, lf + 1)]) : d.subarray(i, lf + 1);
      this.line = [];
      i = lf + 1;
      // A literal announced at the end of the line: `{n}` CRLF; skip its octets by count.
      const end = line.length - (line[line.length - 2] === 13 ? 2 : 1);
      if (end > 0 && line[end - 1] === 0x7d) {
        const open = line.lastIndexOf(0x7b, end - 1);
        const n = Number(line.toString('latin1', open + 1, end - 1).replace('+', ''));
        if (open >= 0 && Number.isFinite(n)) {
          this.literalLeft = n;
          continue;
        }
      }
      // Only lines that may matter are decoded: tagged replies, continuations, and kept untagged lines.
      if (line[0] === 0x2a /* * */ && !this.onLine && !this.waiter?.lines) continue;
      this.handle(line.toString('latin1', 0, end));
    }
  }

  private handle(l: string) {
    if (this.onLine) return this.onLine(l);
    const w = this.waiter;
    if (!w) return;
    if (l.startsWith(`${w.tag} `)) {
      this.waiter = null;
      w.resolve({ tagged: l, lines: w.lines ?? [], bytes: w.bytes });
    } else if (w.lines && w.lines.length < 10000) w.lines.push(l);
  }

  /** Sends a command and resolves at its tagged reply; untagged lines are kept when asked. */
  cmd(command: string | Buffer, keepLines = false): Promise<{ tagged: string; lines: string[]; bytes: number }> {
    const tag = `b${++this.n}`;
    return new Promise((resolve, reject) => {
      this.waiter = { tag, resolve, reject, lines: keepLines ? [] : null, bytes: 0 };
      if (typeof command === 'string') this.socket.write(`${tag} ${command}\r\n`);
      else this.socket.write(Buffer.concat([Buffer.from(`${tag} `), command, Buffer.from('\r\n')]));
    });
  }

  /** Starts IDLE and resolves at the `+` continuation; `untagged` then sees what the server announces. */
  idle(untagged: (l: string) => void = () => {}): Promise<void> {
    const tag = `b${++this.n}`;
    return new Promise((resolve) => {
      this.onLine = (l) => {
        if (l.startsWith('+')) {
          this.onLine = untagged;
          resolve();
        }
      };
      this.socket.write(`${tag} IDLE\r\n`);
    });
  }

  close() {
    this.socket.destroy();
  }
}
