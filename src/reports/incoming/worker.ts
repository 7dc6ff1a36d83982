// The report reader's worker thread (reader.ts): reads each message it is sent as a report (read.ts) and
// posts back what it found, or why it could not. One message at a time; the reader stops the thread when a
// read runs out of time, and the thread's heap limit stops one that runs out of memory.
import { parentPort } from 'node:worker_threads';
import { readReport } from './read.ts';

const port = parentPort!;

port.on('message', (m: { raw: Uint8Array; now: number }) => {
  try {
    const raw = Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength);
    port.postMessage({ result: readReport(raw, m.now) });
  } catch (e) {
    port.postMessage({ error: (e as Error).message ?? String(e) });
  }
});
