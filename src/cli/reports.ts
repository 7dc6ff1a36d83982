// `petrel reports list [--kind dmarc|tls|failure|abuse] [--domain D] [--limit N] | show ID`: the DMARC
// aggregate, TLS and failure reports and the feedback-loop complaints other servers sent about our domains
// (read from delivered mail by reports/incoming).

import { PetrelError } from '../core/errors.ts';
import type { ReceivedReport } from '../core/received-reports-port.ts';
import type { AbuseReport, DmarcAggregate, FailureReport, TlsAggregate } from '../reports/incoming/parse.ts';
import { type Cli, flag, requireArg, UsageError } from './context.ts';

const day = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ');

function line(r: ReceivedReport): string {
  const s = JSON.parse(r.summary) as DmarcAggregate | TlsAggregate | FailureReport | AbuseReport;
  const f = s as FailureReport;
  const a = s as AbuseReport;
  const totals =
    r.kind === 'dmarc'
      ? `${(s as DmarcAggregate).totals.messages} messages, ${(s as DmarcAggregate).totals.fail} failing DMARC`
      : r.kind === 'tls'
        ? `${(s as TlsAggregate).totals.success} TLS sessions ok, ${(s as TlsAggregate).totals.failure} failed`
        : r.kind === 'abuse'
          ? `${a.feedbackType} complaint about mail from ${a.originalFrom || a.originalMailFrom || '?'}`
          : `${f.authFailure || 'auth'} failure from ${f.sourceIp || '?'} (${f.deliveryResult || 'result unknown'})`;
  return `${r.id}\t${r.kind}\t${r.domain}\t${r.org}\t${day(r.begin)} .. ${day(r.end)}\t${totals}`;
}

function dmarcDetail(cli: Cli, s: DmarcAggregate): void {
  const p = s.policy;
  cli.out(`policy published: p=${p.p}${p.sp ? ` sp=${p.sp}` : ''}${p.pct !== null ? ` pct=${p.pct}` : ''}`);
  cli.out('source IP\tcount\tdisposition\tDKIM\tSPF\theader From\tauthentication results');
  for (const r of s.records) {
    const auth = [
      ...r.dkimAuth.map((d) => `dkim=${d.result} (${d.domain}${d.selector ? `, ${d.selector}` : ''})`),
      ...r.spfAuth.map((x) => `spf=${x.result} (${x.domain})`),
    ].join(' ');
    cli.out(`${r.ip}\t${r.count}\t${r.disposition}\t${r.dkim}\t${r.spf}\t${r.headerFrom}\t${auth}`);
  }
}

function tlsDetail(cli: Cli, s: TlsAggregate): void {
  for (const p of s.policies) {
    cli.out(`policy ${p.type} for ${p.domain}: ${p.success} sessions ok, ${p.failure} failed`);
    for (const d of p.details)
      cli.out(`  ${d.resultType}\t${d.count}\t${d.mx || '-'}\t${d.receivingIp || '-'}\t${d.reason}`);
  }
}

function failureDetail(cli: Cli, s: FailureReport): void {
  cli.out(`source IP ${s.sourceIp}, MAIL FROM ${s.originalMailFrom || '-'}, result ${s.deliveryResult || '-'}`);
  cli.out(`failed to align: ${s.identityAlignment || '-'}${s.dkimDomain ? `; DKIM domain ${s.dkimDomain}` : ''}`);
  if (s.authenticationResults) cli.out(`Authentication-Results: ${s.authenticationResults}`);
  cli.out(`original: From ${s.originalFrom || '-'}, Subject ${s.originalSubject || '-'}`);
}

function abuseDetail(cli: Cli, s: AbuseReport): void {
  cli.out(`complaint (${s.feedbackType}) from ${s.org}${s.userAgent ? ` (${s.userAgent})` : ''}`);
  cli.out(`original: From ${s.originalFrom || '-'}, Subject ${s.originalSubject || '-'}`);
  cli.out(
    `MAIL FROM ${s.originalMailFrom || '-'}, sent from ${s.sourceIp || '-'}, Message-ID ${s.originalMessageId || '-'}`,
  );
}

export async function reportsCommand(cli: Cli): Promise<void> {
  const sub = requireArg(cli, 1, 'reports subcommand (list|show)');
  const app = await cli.open();
  try {
    if (sub === 'list') {
      const kind = flag(cli, 'kind');
      if (kind !== undefined && !['dmarc', 'tls', 'failure', 'abuse'].includes(kind))
        throw new UsageError('--kind is dmarc, tls, failure or abuse');
      const limit = Number(flag(cli, 'limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a positive number');
      const rows = await app.store.receivedReports.list({
        kind: kind as ReceivedReport['kind'] | undefined,
        domain: flag(cli, 'domain')?.toLowerCase(),
        limit,
      });
      if (rows.length === 0) cli.out('no reports received');
      for (const r of rows) cli.out(line(r));
    } else if (sub === 'show') {
      const word = requireArg(cli, 2, 'report id');
      const id = Number(word);
      if (!/^\d+$/.test(word) || !Number.isSafeInteger(id)) throw new UsageError(`not a report id (a number): ${word}`);
      // An id no report has is an error, not wrong usage (exit 1, as `petrel queue show`).
      const r = await app.store.receivedReports.get(id);
      if (!r) throw new PetrelError('NOT_FOUND', `no such report: ${word}`);
      cli.out(line(r));
      const s = JSON.parse(r.summary);
      if (r.kind === 'dmarc') dmarcDetail(cli, s as DmarcAggregate);
      else if (r.kind === 'tls') tlsDetail(cli, s as TlsAggregate);
      else if (r.kind === 'abuse') abuseDetail(cli, s as AbuseReport);
      else failureDetail(cli, s as FailureReport);
    } else throw new UsageError(`unknown reports subcommand: ${sub}`);
  } finally {
    await app.close();
  }
}
