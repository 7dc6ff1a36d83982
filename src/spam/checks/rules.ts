// The admin's local rules (spam.rules, spam/content/rules.ts): each rule that matched in the content scan
// adds its symbol with its score, and forces Junk or a refusal when it says so. Parsed here too, at start,
// so a bad rule stops the server with the reason instead of failing every scan.
import type { Config } from '../../config/schema.ts';
import { parseRules } from '../content/rules.ts';
import { type ContentScanner, contentScan, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

export function rulesCheck(deps: { config: Config; scanner?: ContentScanner }): SpamCheck {
  const rules = parseRules(deps.config.spam.rules);
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  return {
    name: 'rules',
    async run(ctx, signal) {
      const { ruleHits } = await contentScan(ctx, scanner, signal);
      return ruleHits.map((i): SpamSymbol => {
        const r = rules[i];
        // The detail of a forcing rule becomes the reply text: it names the rule, never its pattern.
        const on = r.target.kind === 'header' ? `header ${r.target.name}` : r.target.kind;
        return {
          name: r.name,
          score: r.score,
          detail: r.force === 'reject' ? `Message refused by local policy (${r.name})` : `local rule on ${on}`,
          ...(r.force && { force: r.force }),
        };
      });
    },
  };
}
