// The heap of this process after a full collection: what a server running in the test's own process holds.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Octets in use (JavaScript heap and Buffers) after a full garbage collection. */
export function heapInUse(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
