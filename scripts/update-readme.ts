// Regenerates the configuration reference in README.md from the schema (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { markdownReference } from '../src/config/reference.ts';

const START = '<!-- config-reference:start -->';
const END = '<!-- config-reference:end -->';

export function withReference(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error('README.md lacks the config-reference markers');
  return readme.slice(0, a + START.length) + '\n' + markdownReference() + '\n' + readme.slice(b);
}

if (import.meta.main) {
  const text = readFileSync('README.md', 'utf8');
  writeFileSync('README.md', withReference(text));
}
