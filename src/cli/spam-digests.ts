// `petrel spam digests show|forget FILE...`: what Petrel's own digest store holds about a message (its
// body, attachment and fuzzy digests, the spam and ham reports each has, and the symbol the digest check
// gives it now), and forgetting those reports: for when users reported a wanted newsletter into Junk and
// DIGEST_SPAM / FUZZY_SPAM now follow its next issues for everybody.
import { parseMessage } from '../mime/parse.ts';
import type { App } from '../server/app.ts';
import { digestStoreCheck, reportCount } from '../spam/checks/digests.ts';
import { firstMessage } from '../spam/message-files.ts';
import { runPipeline } from '../spam/pipeline.ts';
import { contentScan } from '../spam/scan/scanner.ts';
import type { SpamContext } from '../spam/types.ts';
import { type Cli, UsageError } from './context.ts';
import { maxMessageSize } from './spam.ts';

export async function digestsCommand(cli: Cli, app: App): Promise<void> {
  const op = cli.args[2];
  const files = cli.args.slice(3);
  if (op !== 'show' && op !== 'forget') throw new UsageError('spam digests show|forget FILE...');
  if (files.length === 0) throw new UsageError('missing FILE (a message: .eml, or the first of an mbox)');
  // Every file is read and scanned before anything is deleted. One context per message: the digest check
  // below reuses the scan made for it (contentScan keeps one per context).
  const maxSize = maxMessageSize(app);
  const messages: { file: string; ctx: SpamContext }[] = [];
  for (const file of files) {
    // The first message of a file (an mbox's first), read as `spam check` reads it; a file that cannot be
    // read is named in a usage error before anything is forgotten.
    const m = await firstMessage(file, { maxSize });
    if ('skipped' in m) throw new UsageError(`${file}: ${m.skipped}`);
    const raw = m.raw;
    const ctx: SpamContext = {
      raw,
      parsed: parseMessage(raw),
      accountIds: [],
      hostname: app.config.server.hostname,
      facts: new Map(),
    };
    messages.push({ file, ctx });
  }
  const scans = await Promise.all(messages.map((m) => contentScan(m.ctx, app.spamScanner)));
  if (op === 'forget') {
    const n = await app.store.reputation.forgetDigests(scans.flatMap((s) => s.digests));
    cli.out(`${n} digest${n === 1 ? '' : 's'} forgotten`);
    return;
  }
  const check = digestStoreCheck({ store: app.store, config: app.config, scanner: app.spamScanner });
  for (const [i, m] of messages.entries()) {
    const halfLife = app.config.spam.digests.half_life_days * 86_400_000;
    const found = await app.store.reputation.digestCounts(scans[i].digests, Date.now(), halfLife);
    const counts = new Map(found.map((c) => [c.digest, c]));
    const v = await runPipeline(m.ctx, {
      checks: [check],
      thresholds: { junk: 1e9, reject: 1e9 },
      timeoutMs: app.config.spam.timeout_ms,
      network: false,
    });
    const says = v.symbols.map((s) => `${s.name}=${s.score}`).join(' ') || 'nothing';
    cli.out(`${m.file}: ${scans[i].digests.length} digests, ${counts.size} reported; the digest check says ${says}`);
    for (const d of scans[i].digests) {
      const c = counts.get(d);
      // The key names its kind: body:<Pyzor digest>, att:<SHA-256>, fz1.<band>:<MinHash band>. The counts
      // are what is left of the reports now (they fade with spam.digests.half_life_days).
      const last = c && new Date(c.lastSeen).toISOString();
      cli.out(c ? `  ${d} spam ${reportCount(c.spam)} ham ${reportCount(c.ham)} last ${last}` : `  ${d} not reported`);
    }
  }
}
