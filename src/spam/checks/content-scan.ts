// CONTENT_SCAN_TIMEOUT / CONTENT_SCAN_FAIL: the message's content scan (spam/scan) did not finish, so the
// checks that read it (Bayes, links, phishing, attachments, digests) found nothing. Content that makes the
// scans slow, or exhausts a worker's memory, is suspect: it scores spam.scan.failure_score rather than
// passing as clean, and so does a scan the pipeline stopped waiting for (its time budget ran out while the
// scan ran or waited for a worker). The other checks report the failure as their own zero-score *_FAIL symbol.
// CONTENT_SCAN_BUSY: the scan never started, every worker busy and spam.scan.max_queue scans waiting: the
// message is deferred (451 4.7.1), as a server under load sheds mail; its sender retries later.
import type { Config } from '../../config/schema.ts';
import { BUDGET_EXHAUSTED } from '../pipeline.ts';
import { type ContentScanner, contentScan, inlineScanner, ScanFailed } from '../scan/scanner.ts';
import type { SpamCheck } from '../types.ts';

export function contentScanCheck(deps: { config: Config; scanner?: ContentScanner }): SpamCheck {
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  const score = deps.config.spam.scan.failure_score;
  return {
    name: 'content_scan',
    async run(ctx, signal) {
      try {
        await contentScan(ctx, scanner, signal);
        return [];
      } catch (e) {
        if (!(e instanceof ScanFailed)) throw e;
        // Nothing was judged, so nothing may pass: deferred whoever sent it (always), and scored nothing.
        if (e.busy)
          return [
            {
              name: 'CONTENT_SCAN_BUSY',
              score: 0,
              force: 'greylist',
              always: true,
              detail: 'Server busy, try again later',
            },
          ];
        return [{ name: e.timedOut ? 'CONTENT_SCAN_TIMEOUT' : 'CONTENT_SCAN_FAIL', score, detail: e.message }];
      }
    },
    // The pipeline gave up on the scan (budget spent, or an unexpected error): unfinished all the same.
    failed(detail) {
      return [{ name: detail === BUDGET_EXHAUSTED ? 'CONTENT_SCAN_TIMEOUT' : 'CONTENT_SCAN_FAIL', score, detail }];
    },
  };
}
