// Several `petrel serve` processes on one PostgreSQL schema, as stateless replicas of a deployment run:
// each with a data directory (and so a node id) of its own and blobs in the database, as the README's
// PostgreSQL step says. The test reads and seeds the shared store through an App of its own on it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/schema.ts';
import { type App, openApp } from '../../src/server/app.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { freshPgSchema } from '../helpers/pg.ts';
import { testConfig } from '../helpers/server.ts';
import { type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

export interface Cluster {
  nodes: PetrelProcess[];
  /** The test's own view of the shared store (not a serving node). */
  app: App;
  /** The schema's URL (PETREL_STORE_POSTGRES_URL of every node). */
  url: string;
  /** Starts one more node on the same store (its own data directory); `env` adds to the cluster's. */
  add(env?: Record<string, string>): Promise<PetrelProcess>;
  stop(): Promise<void>;
}

export async function startCluster(
  pgUrl: string,
  n: number,
  opts: { env?: Record<string, string>; seed?: (app: App) => Promise<void>; configure?: (c: Config) => void } = {},
): Promise<Cluster> {
  const schema = await freshPgSchema(pgUrl);
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'petrel-node-'));
    dirs.push(d);
    return d;
  };
  const config = testConfig(tmp());
  config.store.backend = 'postgres';
  config.store.postgres_url = schema.url;
  config.blobs.backend = 'database';
  opts.configure?.(config);
  const app = await openApp(config, silentLogger);
  await opts.seed?.(app);
  const env = {
    PETREL_STORE_BACKEND: 'postgres',
    PETREL_STORE_POSTGRES_URL: schema.url,
    PETREL_BLOBS_BACKEND: 'database',
    PETREL_SERVER_HOSTNAME: 'mx.test.petrel',
    PETREL_SERVER_SHUTDOWN_GRACE_MS: '1000',
    PETREL_SERVER_STALL_WARNING_MS: '0',
    ...opts.env,
  };
  const nodes: PetrelProcess[] = [];
  const add = async (more: Record<string, string> = {}) => {
    const p = await startPetrel(tmp(), { ...env, ...more });
    nodes.push(p);
    return p;
  };
  try {
    for (let i = 0; i < n; i++) await add();
  } catch (e) {
    for (const p of nodes) await stopPetrel(p.child, 'SIGKILL');
    await app.close();
    await schema.drop();
    throw e;
  }
  return {
    nodes,
    app,
    url: schema.url,
    add,
    async stop() {
      await Promise.all(nodes.map((p) => stopPetrel(p.child, 'SIGKILL')));
      await app.close();
      await schema.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
