// This node's name as the owner of queue leases: stable across restarts (server.node_id, else an id made
// once and kept in <data_dir>/node-id), so a node back from a crash knows the leases of its dead
// incarnation for its own and takes them back at once instead of waiting for queue.lease to run out.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { syncDir } from '../core/durable-file.ts';

/** Writes a new file's octets durably. */
function writeDurably(file: string, text: string): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function nodeId(config: Config): string {
  if (config.server.node_id) return config.server.node_id;
  const file = join(resolve(config.server.data_dir), 'node-id');
  const read = () => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
  };
  const known = read();
  if (known) return known;
  const id = `${config.server.hostname}/${randomBytes(8).toString('hex')}`;
  // Written whole to a temporary file, then linked into place: the name appears with its id or not at all
  // (a start killed between creating the file and writing it left it empty, and every later start then made
  // up an id of its own), and of two processes starting at once on a fresh directory one links and both
  // use its id.
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeDurably(tmp, `${id}\n`);
  try {
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const theirs = read();
      if (theirs) return theirs;
      // Empty: left so by an earlier version's start that died before writing it.
      renameSync(tmp, file);
    }
    syncDir(dirname(file));
    return id;
  } finally {
    rmSync(tmp, { force: true });
  }
}
