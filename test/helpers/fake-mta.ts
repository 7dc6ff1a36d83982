// A scripted SMTP server for queue tests: listens on a loopback address of the test's choosing, answers
// as told (refuse, defer, accept, STARTTLS with a given certificate), and records every session.
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';

export interface ReceivedMessage {
  from: string;
  rcpts: string[];
  /** MAIL FROM and RCPT TO lines as sent (parameters included). */
  mailLine: string;
  rcptLines: string[];
  data: Buffer;
  tls: boolean;
}

export interface MtaSession {
  /** Every command line received, in order. */
  commands: string[];
  messages: ReceivedMessage[];
  tls: boolean;
  /** The SNI name the client sent with STARTTLS, if any. */
  servername?: string;
}

/** A reply override: return a reply line ("451 4.3.0 later") to send it instead of the default, else undefined. */
export type Script = (command: string, session: MtaSession, state: { messages: number }) => string | undefined;

export interface FakeMtaOptions {
  host: string;
  port: number;
  name?: string;
  /** EHLO keywords (default PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES, SMTPUTF8); CHUNKING takes BDAT. */
  capabilities?: string[];
  /** Offer STARTTLS with this certificate. */
  tls?: { cert: string; key: string };
  script?: Script;
  /** Greeting line; default "220 <name> ESMTP". */
  greeting?: string;
  /** Changes the default reply to a command after it took effect (a "252" for a "250", say); undefined keeps it. */
  rewrite?: (command: string, reply: string) => string | undefined;
  /** Hold the reply to the end of DATA this long (to test shutdown in mid-delivery). */
  dataDelayMs?: number;
  /** Never answer the end of DATA while this says so (given the messages accepted so far): a server that hangs. */
  hold?: (messages: number) => boolean;
}

export interface FakeMta {
  host: string;
  port: number;
  sessions: MtaSession[];
  /** Every message accepted, over all sessions. */
  received(): ReceivedMessage[];
  /** The most connections that were open at the same time (what a destination concurrency limit caps). */
  maxOpen: number;
  /** Change the script while running. */
  script: Script | undefined;
  /** Closes every open session, the listener stays (a server that drops its clients). */
  cut(): void;
  stop(): Promise<void>;
}

const DEFAULT_CAPS = ['PIPELINING', '8BITMIME', 'SIZE 10240000', 'ENHANCEDSTATUSCODES', 'SMTPUTF8'];

export async function startFakeMta(opts: FakeMtaOptions): Promise<FakeMta> {
  const name = opts.name ?? `mta-${opts.host}`;
  const sockets = new Set<Socket>();
  const state = { messages: 0 };
  const mta: FakeMta = {
    host: opts.host,
    port: opts.port,
    sessions: [],
    received: () => mta.sessions.flatMap((s) => s.messages),
    maxOpen: 0,
    script: opts.script,
    cut() {
      for (const s of sockets) s.destroy();
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((plain) => {
    sockets.add(plain);
    mta.maxOpen = Math.max(mta.maxOpen, sockets.size);
    plain.on('error', () => {});
    plain.on('close', () => sockets.delete(plain));
    const session: MtaSession = { commands: [], messages: [], tls: false };
    mta.sessions.push(session);
    let sock: Socket = plain;
    let buf = Buffer.alloc(0);
    let inData = false;
    let dataChunks: Buffer[] = [];
    let tx: { from: string; mailLine: string; rcpts: string[]; rcptLines: string[] } | null = null;
    // BDAT (RFC 3030, when CHUNKING is offered): octets of the current chunk still to read, and whether it is LAST.
    let chunkLeft = 0;
    let chunkLast = false;
    const chunkDone = () => {
      if (!chunkLast) return send('250 2.0.0 chunk received');
      const data = Buffer.concat(dataChunks);
      dataChunks = [];
      if (!tx || tx.rcpts.length === 0) return send('554 5.5.1 no valid recipients');
      finishData(data);
    };
    /** The command being answered, for opts.rewrite. */
    let answering = '';
    const send = (line: string) => sock.write(`${opts.rewrite?.(answering, line) ?? line}\r\n`);
    const caps = () => opts.capabilities ?? DEFAULT_CAPS;
    const finishData = (data: Buffer) => {
      const t = tx!;
      const over = mta.script?.('.', session, state);
      const reply = () => {
        if (over) send(over);
        else {
          session.messages.push({ ...t, data, tls: session.tls });
          state.messages++;
          send(`250 2.0.0 Ok: queued as M${state.messages}`);
        }
      };
      if (opts.hold?.(state.messages)) {
        tx = null;
        return;
      }
      if (opts.dataDelayMs) setTimeout(reply, opts.dataDelayMs);
      else reply();
      tx = null;
    };
    const onLine = (raw: Buffer) => {
      if (inData) {
        const line = raw.toString('latin1');
        if (line === '.\r\n' || line === '.\n') {
          inData = false;
          finishData(Buffer.concat(dataChunks));
          dataChunks = [];
        } else dataChunks.push(line.startsWith('.') ? raw.subarray(1) : raw);
        return;
      }
      const line = raw.toString('utf8').replace(/\r?\n$/, '');
      session.commands.push(line);
      answering = line;
      const verb = line.split(' ')[0].toUpperCase();
      const over = mta.script?.(line, session, state);
      if (over !== undefined) {
        send(over);
        if (over.startsWith('221') || over.startsWith('421')) sock.end();
        return;
      }
      if (verb === 'EHLO') {
        const lines = [name, ...caps(), ...(opts.tls && !session.tls ? ['STARTTLS'] : [])];
        for (let i = 0; i < lines.length; i++) send(`250${i === lines.length - 1 ? ' ' : '-'}${lines[i]}`);
      } else if (verb === 'HELO') send(`250 ${name}`);
      else if (verb === 'STARTTLS' && opts.tls && !session.tls) {
        send('220 2.0.0 Ready to start TLS');
        plain.removeListener('data', onData);
        const t = new TLSSocket(plain, {
          isServer: true,
          secureContext: createSecureContext({ cert: opts.tls.cert, key: opts.tls.key }),
        });
        t.on('error', () => {});
        t.on('secure', () => {
          session.tls = true;
          session.servername = (t as TLSSocket & { servername?: string | false }).servername || undefined;
          buf = Buffer.alloc(0);
          sock = t;
          t.on('data', onData);
        });
      } else if (verb === 'MAIL') {
        const m = /^MAIL FROM:<([^>]*)>/i.exec(line);
        tx = { from: m ? m[1] : '', mailLine: line, rcpts: [], rcptLines: [] };
        send('250 2.1.0 Ok');
      } else if (verb === 'RCPT') {
        if (!tx) return send('503 5.5.1 need MAIL');
        const m = /^RCPT TO:<([^>]*)>/i.exec(line);
        tx.rcpts.push(m ? m[1] : '');
        tx.rcptLines.push(line);
        send('250 2.1.5 Ok');
      } else if (verb === 'DATA') {
        if (!tx || tx.rcpts.length === 0) return send('554 5.5.1 no valid recipients');
        inData = true;
        send('354 End data with <CR><LF>.<CR><LF>');
      } else if (verb === 'BDAT' && caps().includes('CHUNKING')) {
        const [, size, last] = line.split(' ');
        chunkLeft = Number(size);
        chunkLast = last?.toUpperCase() === 'LAST';
        if (chunkLeft === 0) chunkDone();
      } else if (verb === 'RSET') {
        tx = null;
        send('250 2.0.0 Ok');
      } else if (verb === 'NOOP') send('250 2.0.0 Ok');
      else if (verb === 'QUIT') {
        send('221 2.0.0 Bye');
        sock.end();
      } else send('502 5.5.2 command not recognized');
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (chunkLeft > 0) {
          if (buf.length === 0) return;
          const n = Math.min(chunkLeft, buf.length);
          dataChunks.push(buf.subarray(0, n));
          buf = buf.subarray(n);
          chunkLeft -= n;
          if (chunkLeft === 0) chunkDone();
          continue;
        }
        const nl = buf.indexOf(10);
        if (nl < 0) return;
        const line = buf.subarray(0, nl + 1);
        buf = buf.subarray(nl + 1);
        onLine(line);
      }
    };
    plain.on('data', onData);
    send(opts.greeting ?? `220 ${name} ESMTP`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return mta;
}

/** A port free on every given loopback address at once (all MTAs of a test share the remote port). */
export async function commonPort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      first.once('error', reject);
      first.listen(0, hosts[0], () => resolve((first.address() as { port: number }).port));
    });
    const others: Server[] = [];
    let ok = true;
    for (const h of hosts.slice(1)) {
      const s = createServer();
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(port, h, () => resolve(true));
      });
      if (!ok) break;
      others.push(s);
    }
    await Promise.all([first, ...others].map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (ok) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}
