// Loads petrel.toml, validates it against the schema, applies PETREL_* environment overrides.
import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { type FieldDef, isSection, type SectionDef } from './define.ts';
import { type Config, schema } from './schema.ts';
import { octets, SIZE_EXAMPLES } from './size.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Every field of the schema with its dotted path, in schema order. */
export function fieldPaths(def: SectionDef = schema, prefix = ''): [string, FieldDef<unknown>][] {
  const out: [string, FieldDef<unknown>][] = [];
  for (const [k, v] of Object.entries(def.fields)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (isSection(v)) out.push(...fieldPaths(v, p));
    else out.push([p, v]);
  }
  return out;
}

/** The environment variable that overrides a key: listeners.smtp.port -> PETREL_LISTENERS_SMTP_PORT. */
export function envName(path: string): string {
  return 'PETREL_' + path.toUpperCase().replace(/\./g, '_');
}

export function defaults(def: SectionDef = schema): Config {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(def.fields)) out[k] = isSection(v) ? defaults(v) : structuredClone(v.default);
  return out as Config;
}

/**
 * Maps dotted key paths to the line that sets them, so errors can name the line. A small scanner, not a
 * TOML parser: the file has already parsed, and only table headers and `key =` lines matter here.
 */
export function keyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let table = '';
  const unquote = (k: string) =>
    k
      .split('.')
      .map((p) => p.trim().replace(/^"(.*)"$|^'(.*)'$/, '$1$2'))
      .join('.');
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(line);
    if (header) {
      table = unquote(header[1]);
      if (!lines.has(table)) lines.set(table, i + 1);
      return;
    }
    const kv = /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/.exec(line);
    if (kv) {
      const key = (table ? table + '.' : '') + unquote(kv[1]);
      if (!lines.has(key)) lines.set(key, i + 1);
      // Dotted keys also define their parent tables.
      const parts = key.split('.');
      for (let j = 1; j < parts.length; j++) {
        const parent = parts.slice(0, j).join('.');
        if (!lines.has(parent)) lines.set(parent, i + 1);
      }
    }
  });
  return lines;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** ` (did you mean "x"?)` for the candidate nearest to `key`, or nothing when none is near. */
export function suggest(key: string, candidates: string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(key, c);
    if (dd < bestD) {
      bestD = dd;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/**
 * Where a key of this name is, for one written in the wrong table (or above every table header, as in
 * `hostname = ...` at the top of the file): the sections that have it.
 */
function elsewhere(key: string): string {
  const homes = fieldPaths()
    .map(([path]) => path)
    .filter((path) => path.endsWith(`.${key}`));
  if (homes.length === 1) return ` (did you mean "${homes[0]}"?)`;
  // A name as common as "enabled" says nothing about where it was meant to go.
  if (homes.length > 10) return '';
  const tables = homes.map((path) => `[${path.slice(0, -key.length - 1)}]`);
  if (tables.length > 3) return ` (a key of ${tables.slice(0, 3).join(', ')} and ${tables.length - 3} more)`;
  return tables.length ? ` (a key of ${tables.join(', ')})` : '';
}

function checkValue(path: string, f: FieldDef<unknown>, v: unknown): string | null {
  switch (f.kind) {
    case 'string':
      return typeof v === 'string' ? null : 'expected a string';
    case 'bool':
      return typeof v === 'boolean' ? null : 'expected true or false';
    case 'int': {
      const n = f.size ? octets(v) : v;
      if (f.size && n === null) return `expected a size (${SIZE_EXAMPLES}), not ${JSON.stringify(v)}`;
      if (typeof n !== 'number' || !Number.isInteger(n)) return 'expected an integer';
      if (f.min !== undefined && n < f.min) return `must be at least ${f.min}`;
      if (f.max !== undefined && n > f.max) return `must be at most ${f.max}`;
      return null;
    }
    case 'list':
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : 'expected a list of strings';
    case 'enum':
      return typeof v === 'string' && f.values!.includes(v)
        ? null
        : `expected one of ${f.values!.map((x) => `"${x}"`).join(', ')}`;
    case 'tables': {
      if (!Array.isArray(v)) return 'expected an array of tables ([[...]] entries)';
      for (const [i, entry] of v.entries()) {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `entry ${i + 1} is not a table`;
        for (const [k, x] of Object.entries(entry)) {
          const sub = f.item!.fields[k];
          if (!sub || isSection(sub)) return `entry ${i + 1}: unknown key "${k}"`;
          const err = checkValue(`${path}.${k}`, sub, x);
          if (err) return `entry ${i + 1}: "${k}" ${err}`;
        }
      }
      return null;
    }
  }
  return `${path}: unknown kind`;
}

/** Validates a parsed TOML document and merges it over the defaults. */
export function validate(doc: Record<string, unknown>, file: string, text: string): Config {
  const lines = keyLines(text);
  const where = (p: string) => `${file}:${lines.get(p) ?? '?'}`;
  const errors: string[] = [];
  const out = defaults() as unknown as Record<string, unknown>;
  const walk = (def: SectionDef, obj: Record<string, unknown>, target: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const p = prefix ? `${prefix}.${k}` : k;
      const f = def.fields[k];
      if (!f) {
        errors.push(`${where(p)}: unknown key "${p}"${suggest(k, Object.keys(def.fields)) || elsewhere(k)}`);
        continue;
      }
      if (isSection(f)) {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) {
          errors.push(`${where(p)}: "${p}" must be a table`);
          continue;
        }
        walk(f, v as Record<string, unknown>, target[k] as Record<string, unknown>, p);
      } else {
        const err = checkValue(p, f, v);
        if (err) errors.push(`${where(p)}: "${p}" ${err}`);
        else if (f.kind === 'tables') target[k] = (v as object[]).map((e) => ({ ...defaults(f.item!), ...e }));
        else target[k] = f.size ? octets(v) : v;
      }
    }
  };
  walk(schema, doc, out, '');
  if (errors.length) throw new ConfigError(errors.join('\n'));
  return out as unknown as Config;
}

function parseEnvValue(name: string, f: FieldDef<unknown>, raw: string): unknown {
  let v: unknown = raw;
  if (f.kind === 'int' && f.size) v = octets(raw) ?? raw;
  else if (f.kind === 'int') v = /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  else if (f.kind === 'bool') {
    const t = raw.trim().toLowerCase();
    v = ['1', 'true', 'yes', 'on'].includes(t) ? true : ['0', 'false', 'no', 'off'].includes(t) ? false : raw;
  } else if (f.kind === 'tables') {
    try {
      v = JSON.parse(raw);
    } catch {
      throw new ConfigError(`environment ${name}: expected a JSON array of objects`);
    }
  } else if (f.kind === 'list')
    v = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const err = checkValue(name, f, v);
  if (err) throw new ConfigError(`environment ${name}: ${err}`);
  return v;
}

/** Applies PETREL_* overrides for every schema key present in env. */
export function applyEnv(config: Config, env: NodeJS.ProcessEnv): Config {
  const out = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const [path, f] of fieldPaths()) {
    const name = envName(path);
    const raw = env[name];
    if (raw === undefined) continue;
    const parts = path.split('.');
    let obj: Record<string, unknown> = out;
    for (const p of parts.slice(0, -1)) obj = obj[p] as Record<string, unknown>;
    obj[parts[parts.length - 1]] = parseEnvValue(name, f, raw);
  }
  return out as unknown as Config;
}

/** PETREL_* variables that are not config keys: the config file's path, and test and benchmark knobs. */
const NOT_KEYS = ['PETREL_CONFIG'];
const NOT_KEY_PREFIXES = ['PETREL_TEST_', 'PETREL_BENCH_', 'PETREL_IMAP_DIFF_'];

/**
 * PETREL_* variables in env that override no key (a misspelt one would otherwise be ignored without a
 * word, where a misspelt TOML key is an error), each as a problem with the nearest variable that does.
 */
export function unknownEnv(env: NodeJS.ProcessEnv): string[] {
  const known = fieldPaths().map(([path]) => envName(path));
  const names = new Set([...known, ...NOT_KEYS]);
  return Object.keys(env)
    .filter((n) => n.startsWith('PETREL_') && !names.has(n) && !NOT_KEY_PREFIXES.some((p) => n.startsWith(p)))
    .sort()
    .map((n) => `environment ${n}: no such key${suggest(n, known)}`);
}

export interface LoadOptions {
  /** Config file path; when absent, PETREL_CONFIG, else ./petrel.toml if it exists, else defaults. */
  path?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Loaded {
  config: Config;
  /** The file read, or null when running on defaults. */
  file: string | null;
}

export function loadConfig(opts: LoadOptions = {}): Loaded {
  const env = opts.env ?? process.env;
  const explicit = opts.path ?? env.PETREL_CONFIG;
  const file = explicit ?? 'petrel.toml';
  let text: string | null = null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (explicit) throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let config = defaults();
  if (text !== null) {
    let doc: Record<string, unknown>;
    try {
      doc = parse(text) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof TomlError) throw new ConfigError(`${file}:${e.line}:${e.column}: ${e.message.split('\n')[0]}`);
      throw e;
    }
    config = validate(doc, file, text);
  }
  return { config: applyEnv(config, env), file: text !== null ? file : null };
}
