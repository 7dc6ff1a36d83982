// This node's name as the owner of queue leases: stable across restarts (server.node_id, else an id made
// once and kept in <data_dir>/node-id), so a node back from a crash knows the leases of its dead
// incarnation for its own and takes them back at once instead of waiting for queue.lease to run out.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';

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
  try {
    // "wx": of two processes starting at once on a fresh directory, one writes and both use its id.
    writeFileSync(file, `${id}\n`, { flag: 'wx', mode: 0o600 });
    return id;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return read() || id;
  }
}
