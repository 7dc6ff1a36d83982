// `petrel queue list|show ID|retry ID|--all|hold ID|--all|release ID|--all|bounce ID|delete ID`: the outbound
// queue as an administrator sees it (and as Postfix's postqueue and postsuper let one change it).
import { formatDuration } from '../config/duration.ts';
import { PetrelError } from '../core/errors.ts';
import type { QueueEntry } from '../core/ports.ts';
import { headerOf } from '../queue/dsn.ts';
import { type Cli, requireArg, UsageError } from './context.ts';

function when(ms: number | null, now: number): string {
  if (ms === null) return '-';
  const d = ms - now;
  return d <= 0 ? `${formatDuration(-d)} ago` : `in ${formatDuration(d)}`;
}

function recipientLine(r: QueueEntry['recipients'][number], held: boolean, now: number): string {
  const parts = [`    ${r.address}`, r.status, `attempts=${r.attempts}`];
  if (r.status === 'queued')
    parts.push(
      r.leaseOwner && (r.leaseUntil ?? 0) > now ? 'sending now' : held ? 'on hold' : `next ${when(r.nextAttempt, now)}`,
    );
  if (r.lastReply) parts.push(r.lastReply);
  return parts.join('  ');
}

function summary(e: QueueEntry, now: number): string {
  const m = e.message;
  // A notice: its message is in local mailboxes already; what waits is the "delivered" DSN to its sender.
  const notice = m.notice ? '  delivered DSN owed' : '';
  return `${m.queueId}  ${m.size} bytes  queued ${when(m.createdAt, now)}  <${m.from}>${notice}${m.held ? '  on hold' : ''}`;
}

/** The queue id a subcommand is about, or null for --all: one of the two, never both. */
function idOrAll(cli: Cli): string | null {
  const id = cli.args[2];
  if (cli.flags.has('all')) {
    if (id !== undefined) throw new UsageError('a queue id or --all, not both');
    return null;
  }
  return requireArg(cli, 2, 'queue id (or --all)');
}

const messages = (n: number) => `${n} message${n === 1 ? '' : 's'}`;

export async function queueCommand(cli: Cli): Promise<void> {
  const sub = requireArg(cli, 1, 'queue subcommand (list|show|retry|hold|release|bounce|delete)');
  const app = await cli.open();
  const q = app.store.queue;
  const now = Date.now();
  try {
    if (sub === 'list') {
      const all = await q.list(10_000);
      if (all.length === 0) cli.out('the queue is empty');
      for (const e of all) {
        cli.out(summary(e, now));
        for (const r of e.recipients) cli.out(recipientLine(r, e.message.held, now));
      }
    } else if (sub === 'show') {
      const id = requireArg(cli, 2, 'queue id');
      const e = await q.get(id);
      if (!e) throw new PetrelError('NOT_FOUND', `no queued message ${id}`);
      const m = e.message;
      cli.out(summary(e, now));
      cli.out(`  expires ${when(m.expiresAt, now)}; delay warning ${m.warnAt === null ? 'off' : when(m.warnAt, now)}`);
      const flags = [
        m.envId && `ENVID=${m.envId}`,
        m.ret && `RET=${m.ret}`,
        m.bodyType && `BODY=${m.bodyType}`,
        m.smtpUtf8 && 'SMTPUTF8',
        m.requireTls && 'REQUIRETLS',
      ].filter((x) => x);
      if (flags.length) cli.out(`  ${flags.join(' ')}`);
      cli.out('  recipients:');
      for (const r of e.recipients) {
        cli.out(recipientLine(r, m.held, now));
        if (r.orcpt || r.notify)
          cli.out(
            `      ${[r.orcpt && `ORCPT=${r.orcpt}`, r.notify && `NOTIFY=${r.notify}`].filter((x) => x).join(' ')}`,
          );
      }
      try {
        cli.out('  header:');
        const head = headerOf(await app.blobs.get(m.blobHash))
          .toString('utf8')
          .trimEnd();
        for (const line of head.split('\r\n')) cli.out(`    ${line}`);
      } catch {
        cli.out('    (content missing from the blob store)');
      }
    } else if (sub === 'retry') {
      const id = idOrAll(cli);
      const e = id === null ? null : await q.get(id);
      if (id !== null && !e) throw new PetrelError('NOT_FOUND', `no queued message ${id}`);
      const n = await q.retryNow(id, now);
      cli.out(
        `${n} recipient${n === 1 ? '' : 's'} due now (a running server picks them up within queue.poll_interval)` +
          (e?.message.held ? `; ${id} is on hold: \`petrel queue release ${id}\` sends it` : ''),
      );
    } else if (sub === 'hold' || sub === 'release') {
      const held = sub === 'hold';
      const id = idOrAll(cli);
      if (id !== null && !(await q.get(id))) throw new PetrelError('NOT_FOUND', `no queued message ${id}`);
      const n = await q.setHeld(id, held, now);
      if (id === null)
        cli.out(
          held
            ? `${messages(n)} put on hold (a delivery already under way finishes)`
            : `${messages(n)} released, due now (a running server picks them up within queue.poll_interval)`,
        );
      else if (n === 0) cli.out(held ? `${id} was already on hold` : `${id} was not on hold`);
      else
        cli.out(
          held
            ? `${id} on hold: not sent until released (a delivery already under way finishes)`
            : `${id} released, due now (a running server picks it up within queue.poll_interval)`,
        );
    } else if (sub === 'bounce') {
      const id = requireArg(cli, 2, 'queue id');
      const r = await app.queue.bounce(id);
      const dsn =
        r.dsn === 'queued'
          ? 'DSN queued'
          : r.dsn === 'delivered'
            ? "DSN delivered to the sender's mailbox"
            : 'no DSN (a null sender, or NOTIFY without FAILURE)';
      cli.out(`${id} returned to its sender: ${r.recipients} recipient${r.recipients === 1 ? '' : 's'} failed, ${dsn}`);
    } else if (sub === 'delete') {
      const id = requireArg(cli, 2, 'queue id');
      if (!(await q.delete(id))) throw new PetrelError('NOT_FOUND', `no queued message ${id}`);
      cli.out(`${id} deleted (no DSN is sent)`);
    } else throw new UsageError(`unknown queue subcommand: ${sub}`);
  } finally {
    await app.close();
  }
}
