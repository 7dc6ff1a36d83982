// A content-scan worker thread (spam/scan/pool.ts): parses each message it is sent and posts back its
// scan (spam/scan/scan.ts). One message at a time; the pool stops the thread when a scan runs too long.
import { parentPort, workerData } from 'node:worker_threads';
import { parseMessage } from '../../mime/parse.ts';
import { type ScanOptions, scanContent } from './scan.ts';

const port = parentPort!;
const opts = (workerData as { opts: ScanOptions }).opts;

port.on('message', (m: { id: number; raw: Uint8Array }) => {
  try {
    const raw = Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength);
    port.postMessage({ id: m.id, scan: scanContent(raw, parseMessage(raw), opts) });
  } catch (e) {
    port.postMessage({ id: m.id, error: (e as Error).message ?? String(e) });
  }
});
port.postMessage({ ready: true });
