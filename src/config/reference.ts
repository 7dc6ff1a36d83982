// Renders the schema as documentation: the Markdown config reference and the commented production file.
import { type AnyDef, type FieldDef, isSection, type SectionDef } from './define.ts';
import { envName } from './load.ts';
import { schema } from './schema.ts';
import { formatSize } from './size.ts';

function tomlValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
  return String(v);
}

/** A default as TOML: a size in its largest whole unit ("50M"), which the config reads back. */
const defaultValue = (f: FieldDef<unknown>, v: unknown) => tomlValue(f.size ? formatSize(v as number) : v);

function describe(f: FieldDef<unknown>): string {
  let d = f.doc;
  if (f.size) d += ' A size: octets, or K, M, G (powers of 1024: "10M" is 10 MiB; KB, KiB the same).';
  if (f.kind === 'enum') d += ` One of: ${f.values!.map((v) => `\`${v}\``).join(', ')}.`;
  if (f.kind === 'tables')
    d += ` Each entry: ${Object.entries(f.item!.fields)
      .map(([k, x]) => `\`${k}\` (${x.doc})`)
      .join('; ')}.`;
  return d;
}

/** Markdown table per section, for README.md ("Configuration reference"). */
export function markdownReference(): string {
  const out: string[] = [];
  const walk = (def: SectionDef, prefix: string) => {
    const fields = Object.entries(def.fields).filter(([, v]) => !isSection(v)) as [string, FieldDef<unknown>][];
    if (fields.length) {
      out.push(
        `#### \`[${prefix}]\``,
        '',
        def.doc,
        '',
        '| key | default | environment | meaning |',
        '|---|---|---|---|',
      );
      for (const [k, f] of fields)
        out.push(
          `| \`${k}\` | \`${defaultValue(f, f.default)}\` | \`${envName(`${prefix}.${k}`)}\` | ${describe(f)} |`,
        );
      out.push('');
    }
    for (const [k, v] of Object.entries(def.fields)) if (isSection(v)) walk(v, prefix ? `${prefix}.${k}` : k);
  };
  walk(schema, '');
  return out.join('\n');
}

/** A commented petrel.toml with production values; `overrides` maps dotted keys to values. */
export function commentedConfig(overrides: Record<string, unknown>, header: string[] = []): string {
  const out: string[] = header.map((h) => (h ? `# ${h}` : '#'));
  const walk = (def: SectionDef, prefix: string) => {
    const fields = Object.entries(def.fields).filter(([, v]) => !isSection(v)) as [string, FieldDef<unknown>][];
    if (fields.length) {
      out.push('', `# ${def.doc}`, `[${prefix}]`);
      // Arrays of tables come last: keys written after a [[x.y]] header would belong to its entry.
      const ordered = [
        ...fields.filter(([, f]) => f.kind !== 'tables'),
        ...fields.filter(([, f]) => f.kind === 'tables'),
      ];
      for (const [k, f] of ordered) {
        const path = `${prefix}.${k}`;
        if (f.kind === 'tables') {
          out.push(`# ${describe(f)} Example:`, `# [[${path}]]`);
          for (const [ik, x] of Object.entries(f.item!.fields) as [string, FieldDef<unknown>][])
            out.push(`# ${ik} = ${tomlValue(x.production ?? x.default)}`);
          continue;
        }
        const value = path in overrides ? overrides[path] : f.production !== undefined ? f.production : f.default;
        out.push(`# ${describe(f)} Default: ${defaultValue(f, f.default)}.`);
        out.push(`${k} = ${defaultValue(f, value)}`);
      }
    }
    for (const [k, v] of Object.entries(def.fields) as [string, AnyDef][])
      if (isSection(v)) walk(v, prefix ? `${prefix}.${k}` : k);
  };
  walk(schema, '');
  return out.join('\n') + '\n';
}
