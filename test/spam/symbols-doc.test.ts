// The README's table of spam symbols against the code: every symbol a check can emit is in it, every name
// in it is emitted somewhere, and its default scores agree with the scores written in the checks and with
// the config defaults it names. A new symbol without a line in the table fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaults } from '../../src/config/load.ts';

interface Row {
  name: string;
  score: string;
}

function tableRows(): Row[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('### Spam symbols');
  assert.ok(start >= 0, 'README has a "### Spam symbols" section');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    const m = /^\| `([^`]+)`[^|]*\| [^|]+ \| ([^|]+) \| .* \|$/.exec(line);
    if (m) rows.push({ name: m[1], score: m[2].trim() });
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** Symbol names the code writes out, with the score written beside them where it is a number. */
function emitted(): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const file of sourceFiles('src/spam')) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/name: '([A-Z][A-Z0-9_]+)'(?:, score: (-?[\d.]+)\b)?/g))
      out.set(m[1], m[2] === undefined ? out.get(m[1]) : Number(m[2]));
    // Names chosen on a `name:` line (a ternary) or passed to a symbol-making helper (fuzzySymbol('X', ...)).
    for (const line of text.split('\n').filter((l) => /\bname: [^'`]*\?|Symbol\('/.test(l)))
      for (const m of line.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) if (!out.has(m[1])) out.set(m[1], undefined);
    for (const m of text.matchAll(/: '(ATTACH_[A-Z_]+)'/g)) out.set(m[1], undefined);
  }
  // The auth check's table of result symbols (SPF_PASS, DKIM_FAIL, ...), read as it is written.
  const auth = readFileSync('src/spam/checks/auth.ts', 'utf8');
  const scores = auth.slice(auth.indexOf('const SCORES'), auth.indexOf('};', auth.indexOf('const SCORES')));
  for (const m of scores.matchAll(/^\s+([A-Z]+_[A-Z_]+): (-?[\d.]+),/gm)) out.set(m[1], Number(m[2]));
  // The sender-domain check: SENDER_DOMAIN_ / FROM_DOMAIN_ and a finding's name, each finding's score.
  const sd = readFileSync('src/spam/checks/sender-domain.ts', 'utf8');
  const names = Object.fromEntries([...sd.matchAll(/'?([a-z-]+)'?: '([A-Z_]+)'/g)].map((m) => [m[1], m[2]]));
  for (const m of sd.matchAll(/'?([a-z-]+)'?: (\d+)[,\s}]/g))
    if (names[m[1]]) for (const p of ['SENDER_DOMAIN_', 'FROM_DOMAIN_']) out.set(p + names[m[1]], Number(m[2]));
  return out;
}

test('every symbol the checks emit is in the README table, and every name there is emitted', () => {
  const rows = tableRows();
  const code = emitted();
  assert.ok(code.size > 80, `${code.size} symbols found in the code`);
  const literal = new Set(rows.filter((r) => !r.name.includes('<')).map((r) => r.name));
  // Families with a fixed part (RBL_<ZONE>, REPUTATION_<KIND>_BAD, <CHECK>_TIMEOUT), not bare placeholders.
  const families = rows
    .filter((r) => /<[A-Z]+>/.test(r.name) && /[A-Z]{2,}/.test(r.name.replace(/<[A-Z]+>/g, '')))
    .map((r) => new RegExp(`^${r.name.replace(/<[A-Z]+>/g, '[A-Z0-9_]+')}$`));
  const missing = [...code.keys()].filter((n) => !literal.has(n) && !families.some((f) => f.test(n)));
  assert.deepEqual(missing, [], 'symbols with no line in the README table');
  const stale = [...literal].filter((n) => !code.has(n));
  assert.deepEqual(stale, [], 'README lines for symbols the code no longer emits');
});

test("the default scores in the table are the code's and the config's", () => {
  const rows = tableRows();
  const code = emitted();
  const config = defaults() as unknown as Record<string, unknown>;
  const headerScores = new Map(
    defaults().spam.headers.scores.map((s) => [s.slice(0, s.indexOf('=')), Number(s.slice(s.indexOf('=') + 1))]),
  );
  let checked = 0;
  for (const r of rows) {
    const keyed = /^(?:up to |down to )?(-?[\d.]+) \((spam\.[a-z_.]+)\)$/.exec(r.score);
    if (keyed) {
      const value = keyed[2].split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], config);
      assert.equal(Number(keyed[1]), value, `${r.name}: ${keyed[2]} is ${value} by default`);
      checked++;
    }
    const written = code.get(r.name) ?? headerScores.get(r.name);
    if (written !== undefined && /^-?[\d.]+$/.test(r.score)) {
      assert.equal(Number(r.score), written, `${r.name}: the code scores ${written}`);
      checked++;
    }
  }
  assert.ok(checked > 80, `${checked} scores checked`);
});
