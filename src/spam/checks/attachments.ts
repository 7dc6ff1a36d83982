// Dangerous attachments by policy: what the content scan found (spam/content/attachments.ts: executables,
// double extensions, macro-enabled Office files, RTF documents with objects, password-protected archives
// (zip, RAR, 7z), HTML and SVG files and the active ones among them) scores or refuses the message, each kind as configured.
// What could not be judged whole, an archive listing more than 10,000 files or a message of more than 500
// MIME parts, scores UNCHECKED_SCORE: as amavis treats exceeded limits as "unchecked" content and bans or
// quarantines it, such a message goes to Junk by default rather than passing as clean (spam.weights
// ATTACH_TOO_MANY_ENTRIES / ATTACH_TOO_MANY_PARTS change the score).
import type { Config } from '../../config/schema.ts';
import type { Kind } from '../content/attachments.ts';
import { type ContentScanner, contentScan, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

const SYMBOL: Record<Kind, string> = {
  executable: 'ATTACH_EXECUTABLE',
  double_extension: 'ATTACH_DOUBLE_EXTENSION',
  macro: 'ATTACH_MACRO',
  rtf_object: 'ATTACH_RTF_OBJECT',
  encrypted_archive: 'ATTACH_ENCRYPTED_ARCHIVE',
  html: 'ATTACH_HTML',
  html_active: 'ATTACH_HTML_ACTIVE',
  too_many_entries: 'ATTACH_TOO_MANY_ENTRIES',
  too_many_parts: 'ATTACH_TOO_MANY_PARTS',
};

/** The score of content left unjudged past a cap: the default junk threshold (spam.junk_score, 6). */
export const UNCHECKED_SCORE = 6;

export function attachmentsCheck(deps: { config: Config; scanner?: ContentScanner }): SpamCheck {
  const cfg = deps.config.spam.attachments;
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  const policy: Record<Kind, { action: 'reject' | 'score' | 'off'; score: number }> = {
    executable: { action: cfg.executable, score: cfg.executable_score },
    double_extension: { action: cfg.double_extension, score: cfg.double_extension_score },
    macro: { action: cfg.macro, score: cfg.macro_score },
    rtf_object: { action: cfg.rtf_object, score: cfg.rtf_object_score },
    encrypted_archive: { action: cfg.encrypted_archive, score: cfg.encrypted_archive_score },
    html: { action: cfg.html, score: cfg.html_score },
    html_active: { action: cfg.html_active, score: cfg.html_active_score },
    too_many_entries: { action: 'score', score: UNCHECKED_SCORE },
    too_many_parts: { action: 'score', score: UNCHECKED_SCORE },
  };
  return {
    name: 'attachments',
    async run(ctx, signal) {
      const found = new Map<Kind, string[]>();
      for (const f of (await contentScan(ctx, scanner, signal)).attachments) {
        const list = found.get(f.kind) ?? [];
        list.push(f.file);
        found.set(f.kind, list);
      }
      const out: SpamSymbol[] = [];
      for (const [kind, files] of found) {
        const p = policy[kind];
        if (p.action === 'off') continue;
        const detail = files.slice(0, 5).join(', ');
        out.push(
          p.action === 'reject'
            ? { name: SYMBOL[kind], score: p.score, force: 'reject', detail: `Attachment refused by policy: ${detail}` }
            : { name: SYMBOL[kind], score: p.score, detail },
        );
      }
      return out;
    },
  };
}
