// The POP3 maildrop lock after a crash, on SQLite and PostgreSQL: `petrel serve` in a child process holds a
// POP3 session (the lock's lease row in the store) and is killed with SIGKILL, so nothing releases it. The
// same node, restarted on the same data directory, knows the lease of its dead run for its own: the user
// logs in again at once, with +OK, not [IN-USE] until the lease lapses; the DELE the dead session marked
// was never applied (no QUIT, no UPDATE).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { openStoppedPetrel, type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const USER = 'pop@localhost';
const PASS = 'pop-secret';

async function pop3Login(p: PetrelProcess): Promise<{ c: Pop3Client; reply: string }> {
  const c = await Pop3Client.open(p.ports.pop3);
  assert.match(await c.cmd(`USER ${USER}`), /^\+OK/);
  return { c, reply: await c.cmd(`PASS ${PASS}`) };
}

for (const backend of ['sqlite', 'postgres'] as const) {
  const url = pgTestUrl();
  const skip = backend === 'postgres' && !url ? PG_SKIP_REASON : undefined;
  describe(`POP3 lock after a crash (${backend})`, { skip }, () => {
    test('a node killed while holding a maildrop, restarted on its data directory, lets the user in at once', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'petrel-pop3-crash-'));
      const schema = backend === 'postgres' ? await freshPgSchema(url!) : null;
      const env: Record<string, string> = { PETREL_LISTENERS_POP3_ENABLED: 'true' };
      if (schema) Object.assign(env, { PETREL_STORE_BACKEND: 'postgres', PETREL_STORE_POSTGRES_URL: schema.url });
      let proc: PetrelProcess | null = null;
      try {
        const seed = await openStoppedPetrel(dir, env);
        try {
          await seed.directory.addDomain('localhost');
          const acc = await seed.directory.addAccount(USER, PASS);
          await seed.mail.deliver(Buffer.from('Subject: one\r\n\r\nHello.\r\n'), [{ accountId: acc.id }]);
        } finally {
          await seed.close();
        }
        proc = await startPetrel(dir, env);
        const first = await pop3Login(proc);
        assert.match(first.reply, /^\+OK Logged in, 1 message/);
        assert.equal(await first.c.cmd('DELE 1'), '+OK Message 1 deleted');
        await stopPetrel(proc.child, 'SIGKILL');
        first.c.destroy();

        proc = await startPetrel(dir, env);
        const again = await pop3Login(proc);
        assert.match(again.reply, /^\+OK Logged in, 1 message/, 'its own dead run held the lock: taken back at once');
        // And the restarted node still excludes a second session of its own.
        const second = await pop3Login(proc);
        assert.equal(second.reply, '-ERR [IN-USE] Maildrop is in use by another POP3 session');
        second.c.destroy();
        assert.match(await again.c.cmd('QUIT'), /^\+OK/);
        again.c.destroy();
      } finally {
        if (proc) await stopPetrel(proc.child, 'SIGKILL');
        await schema?.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
