// Local rules (spam.rules): the admin's own patterns, as SpamAssassin's `header`/`body`/`uri` rules in
// local.cf and rspamd's regexp module give them: "NAME TARGET /REGEX/FLAGS SCORE [junk|reject]". They are
// matched inside the content scan (spam/scan/scan.ts), on its worker threads under the scan's hard time
// limit, so a pattern that backtracks badly on some message costs that message a CONTENT_SCAN_TIMEOUT, not
// the server its event loop. The targets read decoded text: RFC 2047 words and transfer encodings undone.
import type { ParsedMessage } from '../../mime/types.ts';
import { type FoundUrl, ruleForm } from './urls.ts';

export type RuleTarget =
  | { kind: 'subject' | 'from' | 'to' | 'reply-to' | 'body' | 'url' | 'headers' }
  | { kind: 'header'; name: string };

export interface LocalRule {
  name: string;
  target: RuleTarget;
  re: RegExp;
  score: number;
  force?: 'junk' | 'reject';
}

const SPEC = /^\s*([A-Z][A-Z0-9_]*)\s+(\S+)\s+\/(.+)\/([imsu]*)\s+(-?\d+(?:\.\d+)?)(?:\s+(junk|reject))?\s*$/;
const TARGETS = ['subject', 'from', 'to', 'reply-to', 'body', 'url', 'headers'];
/** The longest header value a rule reads (a folded field of a hostile message can be megabytes). */
const MAX_HEADER = 16 * 1024;

/** Parses one rule; throws with the reason for anything else (the server then does not start). */
export function parseRule(spec: string): LocalRule {
  const m = SPEC.exec(spec);
  if (!m)
    throw new Error(
      `spam.rules: "${spec}" is not "NAME TARGET /REGEX/FLAGS SCORE [junk|reject]" (NAME in upper case, e.g. "LOCAL_INVOICE subject /overdue invoice/i 3")`,
    );
  const [, name, t, source, flags, score, force] = m;
  let target: RuleTarget;
  const lower = t.toLowerCase();
  if (lower.startsWith('header:') && /^[\x21-\x39\x3b-\x7e]+$/.test(t.slice(7)))
    target = { kind: 'header', name: t.slice(7).toLowerCase() };
  else if (TARGETS.includes(lower)) target = { kind: lower as 'subject' };
  else throw new Error(`spam.rules: "${t}" in "${spec}" is not one of ${TARGETS.join(', ')}, header:NAME`);
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (e) {
    throw new Error(`spam.rules: bad pattern in "${spec}": ${(e as Error).message}`);
  }
  return { name, target, re, score: Number(score), ...(force && { force: force as 'junk' | 'reject' }) };
}

/** Parses every rule; names must be unique. */
export function parseRules(specs: string[]): LocalRule[] {
  const rules = specs.map(parseRule);
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.name)) throw new Error(`spam.rules: ${r.name} is defined twice`);
    seen.add(r.name);
  }
  return rules;
}

/** The texts a target names in a message. */
function texts(target: RuleTarget, parsed: ParsedMessage, urls: FoundUrl[]): string[] {
  const fields = (names: string[]) =>
    parsed.headerFields.filter((f) => names.includes(f.name.toLowerCase())).map((f) => f.value.slice(0, MAX_HEADER));
  switch (target.kind) {
    case 'subject':
      return fields(['subject']);
    case 'from':
      return fields(['from']);
    case 'to':
      return fields(['to', 'cc']);
    case 'reply-to':
      return fields(['reply-to']);
    case 'header':
      return fields([target.name]);
    case 'headers':
      return parsed.headerFields.map((f) => `${f.name}: ${f.value.slice(0, MAX_HEADER)}`);
    case 'body':
      return [parsed.text];
    case 'url':
      // Normalised (urls.ts ruleForm): "HTTPS://EVIL.EXAMPLE./" is the same link as https://evil.example/.
      return urls.map((u) => ruleForm(u.url));
  }
}

/** The indices of the rules that match the message. */
export function matchRules(rules: LocalRule[], parsed: ParsedMessage, urls: FoundUrl[]): number[] {
  const hits: number[] = [];
  rules.forEach((r, i) => {
    if (texts(r.target, parsed, urls).some((t) => r.re.test(t))) hits.push(i);
  });
  return hits;
}
