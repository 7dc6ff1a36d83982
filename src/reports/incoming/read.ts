// What a message says as a report, read whole: the report part found (extract.ts) and parsed (parse.ts),
// and for ARF reports who sent it. Pure and synchronous: the server runs it on the report reader's worker
// thread (reader.ts), never on the main thread.
import type { ReceivedReportKind } from '../../core/received-reports-port.ts';
import { findReport } from './extract.ts';
import {
  type AbuseReport,
  COMPLAINT_TYPES,
  type DmarcAggregate,
  type FailureReport,
  feedbackType,
  parseAbuse,
  parseDmarcXml,
  parseFailure,
  parseTlsJson,
  type TlsAggregate,
} from './parse.ts';

export type ReadReport =
  | { kind: 'dmarc'; report: DmarcAggregate }
  | { kind: 'tls'; report: TlsAggregate }
  | { kind: 'failure'; report: FailureReport }
  | { kind: 'abuse'; report: AbuseReport };

export type AnyReport = ReadReport['report'];
export type { ReceivedReportKind };

/** The header section (its first 64 KB at most, never a scan of the whole message), as text. */
export function headerText(raw: Buffer): string {
  const start = raw.subarray(0, 65536);
  const end = start.indexOf('\r\n\r\n');
  return start.subarray(0, end < 0 ? start.length : end).toString('latin1');
}

/** Who sent a report message (its From domain) and its Message-ID: a failure report's identity. */
function reportSender(raw: Buffer): { org: string; reportId: string } {
  const unfolded = headerText(raw).replace(/\r\n[ \t]+/g, ' ');
  const from = /^from:.*@([A-Za-z0-9.-]+)/im.exec(unfolded)?.[1]?.toLowerCase() ?? '';
  const id = /^message-id:\s*<?([^>\r\n]+)>?/im.exec(unfolded)?.[1]?.trim() ?? '';
  return { org: from, reportId: id };
}

/**
 * The report `raw` carries, parsed, or null (none found). Throws (ReportError) on a report that cannot be
 * read. An ARF message is an authentication failure report or a complaint, by its Feedback-Type.
 */
export function readReport(raw: Buffer, now: number): ReadReport | null {
  const found = findReport(raw);
  if (!found) return null;
  if (found.kind === 'dmarc') return { kind: 'dmarc', report: parseDmarcXml(found.xml) };
  if (found.kind === 'tls') return { kind: 'tls', report: parseTlsJson(found.json) };
  const meta = { ...reportSender(raw), now };
  return COMPLAINT_TYPES.has(feedbackType(found.fields))
    ? { kind: 'abuse', report: parseAbuse(found.fields, found.headers, meta) }
    : { kind: 'failure', report: parseFailure(found.fields, found.headers, meta) };
}
