// A log destination for tests that read what a server logs: its JSON lines, parsed, as they come.
import { Writable } from 'node:stream';

export function captureLog<L extends { msg: string } = { msg: string; [k: string]: unknown }>() {
  const lines: L[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, stream };
}
