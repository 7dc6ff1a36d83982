// How a server answers a pipeline it already holds: one event loop serves every connection, so other work
// queued the moment a pipeline reaches the server must run before the whole of it is answered.
import type { Socket } from 'node:net';

/**
 * Writes `count` copies of `command` at once (through `write`, the client's socket) and reports what other
 * work, queued the moment the first piece reached `server` (the session's socket), saw: how many commands
 * that piece held, and how many replies of `replyOctets` each the server had written by then.
 */
export function firstSlice(
  server: Socket,
  write: (data: string) => void,
  command: string,
  replyOctets: number,
  count: number,
): Promise<{ commands: number; answered: number }> {
  const before = server.bytesWritten;
  const seen = new Promise<{ commands: number; answered: number }>((resolve) => {
    server.prependOnceListener('data', (chunk: Buffer) => {
      const commands = Math.floor(chunk.length / command.length);
      setImmediate(() => resolve({ commands, answered: (server.bytesWritten - before) / replyOctets }));
    });
  });
  write(command.repeat(count));
  return seen;
}
