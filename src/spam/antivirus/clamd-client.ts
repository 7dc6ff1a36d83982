// A client of ClamAV's scanning daemon (clamd): the message streamed with INSTREAM over TCP or a Unix
// socket, as clamdscan does. clamd(8), "INSTREAM": after "zINSTREAM\0" the data goes in chunks, each a
// 4-byte big-endian length then the bytes, and a zero-length chunk ends it; with the "z" prefix the reply
// ends with NUL: "stream: OK", "stream: <name> FOUND", or "<text> ERROR" (e.g. past StreamMaxLength).
import { connect, type Socket } from 'node:net';

export type ClamdAddress = { path: string } | { host: string; port: number };

export type ClamdResult = { infected: false } | { infected: true; name: string };

/** "host:port", "[v6]:port" or an absolute socket path; null when it is neither. */
export function parseClamdAddress(s: string): ClamdAddress | null {
  const t = s.trim();
  if (t.startsWith('/')) return { path: t };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(t);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

export const describeClamd = (a: ClamdAddress) => ('path' in a ? a.path : `${a.host}:${a.port}`);

const CHUNK = 64 * 1024;
/** A reply longer than this is not clamd's: stop reading. */
const MAX_REPLY = 4096;

/** Virus names go into SMTP replies and headers: printable ASCII only, bounded. */
const cleanName = (n: string) => n.replace(/[^\x21-\x7e]+/g, '_').slice(0, 120);

/**
 * clamd refused the stream as longer than its StreamMaxLength ("INSTREAM size limit exceeded. ERROR"): not a
 * passing fault, the same message is refused again at every try.
 */
export class ClamdTooLarge extends Error {}

/** clamd closed (or reset) the connection once connected, without a reply we could read. */
class ClosedUnanswered extends Error {}

/** Reads a clamd "stream:" reply into a result; anything else is an error. */
export function parseReply(text: string): ClamdResult {
  const t = text.replace(/\0+$/, '').trim();
  if (t === 'stream: OK') return { infected: false };
  const found = /^stream: (.+) FOUND$/.exec(t);
  if (found) return { infected: true, name: cleanName(found[1]) };
  if (/^INSTREAM size limit exceeded/.test(t)) throw new ClamdTooLarge(`clamd: ${cleanName(t).replace(/_/g, ' ')}`);
  throw new Error(`clamd: ${cleanName(t || 'empty reply').replace(/_/g, ' ')}`);
}

/**
 * How long to wait before connecting again to a clamd whose listen queue is full (its MaxConnectionQueueLength,
 * 15 in Debian's clamd.conf, during a burst of messages). clamdscan's blocking connect waits in the kernel for
 * room; ours does not block, and a full Unix socket queue answers EAGAIN at once: clamd is busy, not down, so
 * we try again until the scan's time runs out.
 */
const BUSY_RETRY_MS = 20;

/**
 * One command on a fresh connection: writes `send` (chunks, in order, honouring back-pressure), reads the
 * reply up to its NUL or the connection's end. Rejects on connection errors, timeout or abort.
 */
function exchange(
  addr: ClamdAddress,
  send: Buffer[],
  opts: { timeoutMs: number; signal?: AbortSignal; end?: boolean },
): Promise<string> {
  return new Promise((resolve, reject) => {
    let sock: Socket | undefined;
    let retry: NodeJS.Timeout | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const done = (err: Error | null, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(retry);
      opts.signal?.removeEventListener('abort', onAbort);
      sock?.destroy();
      if (err) reject(err);
      else resolve(text!);
    };
    const reply = () => Buffer.concat(chunks).toString('latin1');
    const timer = setTimeout(
      () => done(new Error(`clamd ${describeClamd(addr)}: no answer in ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    const onAbort = () => done(new Error('clamd: scan abandoned'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) return onAbort();
    const open = () => {
      const s = 'path' in addr ? connect({ path: addr.path }) : connect({ host: addr.host, port: addr.port });
      sock = s;
      let connected = false;
      let busy = false;
      const lost = (why: string) => {
        const text = `clamd ${describeClamd(addr)}: ${why}`;
        return connected ? new ClosedUnanswered(text) : new Error(text);
      };
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        size += d.length;
        const nul = d.indexOf(0);
        if (nul >= 0 || size > MAX_REPLY) done(null, reply().split('\0')[0].slice(0, MAX_REPLY));
      });
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (!connected && e.code === 'EAGAIN' && !settled) {
          busy = true;
          s.destroy();
          retry = setTimeout(open, BUSY_RETRY_MS);
          return;
        }
        // clamd may answer (size limit) and close while we still write: its reply wins over the write error.
        if (size) done(null, reply());
        else done(lost(e.message));
      });
      s.on('close', () => {
        if (busy) return;
        if (size) done(null, reply());
        else done(lost('closed without an answer'));
      });
      s.once('connect', async () => {
        connected = true;
        for (const b of send) {
          if (settled) return;
          if (!s.write(b))
            await new Promise<void>((r) => {
              const go = () => {
                s.off('drain', go).off('close', go);
                r();
              };
              s.on('drain', go).on('close', go);
            });
        }
        if (opts.end && !settled) s.end();
      });
    };
    open();
  });
}

/** Scans `data` (a whole message: clamd reads MIME and scans each decoded part). */
export async function clamdScan(
  addr: ClamdAddress,
  data: Buffer,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<ClamdResult> {
  const send: Buffer[] = [Buffer.from('zINSTREAM\0')];
  for (let i = 0; i < data.length; i += CHUNK) {
    const part = data.subarray(i, i + CHUNK);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(part.length);
    send.push(len, part);
  }
  send.push(Buffer.alloc(4)); // the zero-length chunk: end of stream
  const deadline = Date.now() + opts.timeoutMs;
  try {
    return parseReply(await exchange(addr, send, opts));
  } catch (e) {
    if (!(e instanceof ClosedUnanswered)) throw e;
    // Past its StreamMaxLength clamd answers and closes while we still write; a write that fails then is
    // reported before the answer waiting to be read (clamdscan's "Broken pipe"), so the answer is lost.
    // clamd judges the limit by each chunk's announced length (clamd/session.c, "Size limit reached"):
    // one chunk announcing the whole message, then our end of the connection, asks the question alone.
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const timeoutMs = Math.max(1, deadline - Date.now());
    const probe = await exchange(addr, [Buffer.from('zINSTREAM\0'), len], { ...opts, timeoutMs, end: true }).catch(
      () => '',
    );
    if (/^INSTREAM size limit exceeded/.test(probe)) parseReply(probe); // throws ClamdTooLarge
    throw e;
  }
}

/** True when clamd answers PING with PONG. */
export async function clamdPing(addr: ClamdAddress, timeoutMs: number): Promise<boolean> {
  return exchange(addr, [Buffer.from('zPING\0')], { timeoutMs }).then(
    (r) => r.trim() === 'PONG',
    () => false,
  );
}
