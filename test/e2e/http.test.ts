// The HTTP listener: /healthz always, /readyz only while the store answers; on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { startTestServer } from '../helpers/server.ts';

const pg = pgTestUrl();
for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`http on ${backend}`, () => {
    it('answers health and readiness, and readiness fails when the store is gone', {
      skip: backend === 'postgres' && !pg ? PG_SKIP_REASON : undefined,
    }, async () => {
      const s = await startTestServer({ backend, pgUrl: pg });
      try {
        const base = `http://127.0.0.1:${s.ports.http}`;
        assert.equal((await fetch(`${base}/healthz`)).status, 200);
        const ready = await fetch(`${base}/readyz`);
        assert.equal(ready.status, 200);
        assert.deepEqual(await ready.json(), { status: 'ready' });
        assert.equal((await fetch(`${base}/healthz`, { method: 'POST' })).status, 404);
        await s.app.store.close();
        const down = await fetch(`${base}/readyz`);
        assert.equal(down.status, 503);
        assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the process itself is alive');
      } finally {
        await s.stop();
      }
    });
  });
}
