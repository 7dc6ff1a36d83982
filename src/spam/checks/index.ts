// Every spam check the server runs, in one list. A new check is a file in this directory and a line here.
import type { Config } from '../../config/schema.ts';
import type { Resolver, Store } from '../../core/ports.ts';
import type { Logger } from '../../telemetry/log.ts';
import { bayesCheck } from '../bayes/check.ts';
import { bayesFromConfig } from '../bayes/index.ts';
import { bayesSink } from '../bayes/sink.ts';
import type { FeedbackSink } from '../feedback.ts';
import { type ContentScanner, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck } from '../types.ts';
import { antivirusCheck } from './antivirus.ts';
import { attachmentsCheck } from './attachments.ts';
import { backscatterCheck } from './backscatter.ts';
import { contentScanCheck } from './content-scan.ts';
import { digestStoreCheck, digestStoreSink } from './digests.ts';
import { eblCheck } from './ebl.ts';
import { gtubeCheck } from './gtube.ts';
import { headerAnomaliesCheck } from './header-anomalies.ts';
import { phishingCheck } from './phishing.ts';
import { pyzorCheck, pyzorSink } from './pyzor.ts';
import { repliesCheck } from './replies.ts';
import { reputationCheck, reputationSink } from './reputation.ts';
import { rulesCheck } from './rules.ts';
import { senderChecks } from './sender.ts';
import { senderListsCheck } from './sender-lists.ts';
import { trapsCheck } from './traps.ts';
import { uriblCheck } from './uribl.ts';

/** What checks may use; the server builds it (server/app.ts), `petrel spam check` builds one too. */
export interface CheckDeps {
  store: Store;
  resolver: Resolver;
  config: Config;
  log: Logger;
  /** Where content checks get their scan: the server's worker pool; in place when absent. */
  scanner?: ContentScanner;
}

export function buildChecks(given: CheckDeps): SpamCheck[] {
  // One scanner for every check, so that each message is scanned once.
  const deps = { ...given, scanner: given.scanner ?? inlineScanner(given.config) };
  const checks: SpamCheck[] = [];
  // -- sender authentication, connection and envelope checks (SPF, DKIM, DMARC, ARC, DNSBL, greylist) --
  checks.push(...senderChecks(deps));

  // -- the content scan (on worker threads in the server), then what the checks read from it --
  checks.push(contentScanCheck(deps));

  // -- content checks (URLs and URIBL, phishing, attachments, viruses, header anomalies), digests, reputation, replies --
  const sp = deps.config.spam;
  if (sp.uribl.enabled) checks.push(uriblCheck(deps));
  if (sp.ebl.enabled) checks.push(eblCheck(deps));
  if (sp.phishing.enabled) checks.push(phishingCheck(deps)); // stage 1: reads stage 0's DMARC/DKIM facts
  if (sp.attachments.enabled) checks.push(attachmentsCheck(deps));
  if (sp.antivirus.enabled) checks.push(antivirusCheck(deps)); // clamd
  if (sp.headers.enabled) checks.push(headerAnomaliesCheck(deps)); // stage 1: reads stage 0's DKIM facts
  if (sp.gtube.enabled) checks.push(gtubeCheck());
  if (sp.rules.length) checks.push(rulesCheck(deps)); // the admin's own patterns
  if (sp.pyzor.enabled) checks.push(pyzorCheck(deps));
  if (sp.digests.enabled) checks.push(digestStoreCheck(deps));
  if (sp.reputation.enabled) checks.push(reputationCheck(deps)); // stage 1: reads stage 0's DKIM facts
  if (sp.replies.enabled) checks.push(repliesCheck(deps)); // stage 1: reads stage 0's DMARC/DKIM facts
  if (sp.replies.enabled && sp.backscatter.enabled) checks.push(backscatterCheck(deps)); // what replies remembered
  if (sp.lists.enabled) checks.push(senderListsCheck(deps)); // stage 1: allow entries need authentication
  if (sp.traps.addresses.length) checks.push(trapsCheck(deps));

  // -- statistical classifier (Bayes) --
  const bayes = deps.config.spam.bayes;
  if (bayes.enabled)
    checks.push(
      bayesCheck(
        bayesFromConfig(deps.store, deps.config),
        { spam: bayes.spam_score, ham: bayes.ham_score },
        deps.scanner,
      ),
    );

  return checks;
}

/** Everything that learns from feedback (see spam/feedback.ts). */
export function buildFeedbackSinks(given: CheckDeps): FeedbackSink[] {
  // One scanner for every sink, so that each judged message is scanned once.
  const deps = { ...given, scanner: given.scanner ?? inlineScanner(given.config) };
  const sinks: FeedbackSink[] = [];
  // -- reputation, digests --
  if (deps.config.spam.reputation.enabled) sinks.push(reputationSink(deps));
  if (deps.config.spam.digests.enabled) sinks.push(digestStoreSink(deps));
  if (deps.config.spam.pyzor.enabled) sinks.push(pyzorSink(deps));

  // -- statistical classifier (Bayes) --
  if (deps.config.spam.bayes.enabled) sinks.push(bayesSink(bayesFromConfig(deps.store, deps.config), deps.scanner));

  return sinks;
}
