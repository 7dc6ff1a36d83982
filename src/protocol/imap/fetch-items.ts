// FETCH data items (RFC 9051 section 6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ, RFC 8474 EMAILID/THREADID,
// RFC 8514 SAVEDATE, RFC 8970 PREVIEW): from the argument values to a typed list of what to send.
import type { ImapValue } from './types.ts';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME' | null;

export interface SectionItem {
  kind: 'section';
  /** BODY[...] or BINARY[...]; RFC822, RFC822.HEADER and RFC822.TEXT become BODY sections. */
  binary: boolean;
  peek: boolean;
  /** Part path: [] for the whole message, [1, 2] for 1.2. */
  part: number[];
  text: SectionText;
  fields: string[];
  partial: { start: number; length: number } | null;
  /** The name the response carries, e.g. `BODY[HEADER.FIELDS (FROM)]<0>`, `RFC822.HEADER`. */
  label: string;
}

export type SimpleName =
  | 'FLAGS'
  | 'UID'
  | 'INTERNALDATE'
  | 'RFC822.SIZE'
  | 'ENVELOPE'
  | 'BODY'
  | 'BODYSTRUCTURE'
  | 'MODSEQ'
  | 'EMAILID'
  | 'THREADID'
  | 'SAVEDATE'
  | 'PREVIEW';

export type FetchItem =
  | { kind: 'simple'; name: SimpleName }
  | SectionItem
  | { kind: 'binarySize'; part: number[]; label: string };

const SIMPLE = new Set<string>([
  'FLAGS',
  'UID',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODY',
  'BODYSTRUCTURE',
  'MODSEQ',
  'EMAILID',
  'THREADID',
  'SAVEDATE',
  'PREVIEW',
]);

const MACROS: Record<string, SimpleName[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const ITEM = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?$/i;

function parsePart(s: string): number[] | null {
  if (s === '') return [];
  const out: number[] = [];
  for (const n of s.split('.')) {
    if (!/^[1-9]\d{0,8}$/.test(n)) return null;
    out.push(Number(n));
  }
  return out;
}

/** Parses a section spec such as `1.2.HEADER.FIELDS (FROM TO)`; null when malformed. */
export function parseSection(spec: string): { part: number[]; text: SectionText; fields: string[] } | null {
  const m =
    /^((?:[1-9]\d*)(?:\.[1-9]\d*)*)?\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?(?: \(([^()]*)\))?$/i.exec(
      spec,
    );
  if (!m) return null;
  const part = parsePart(m[1] ?? '');
  if (!part) return null;
  const text = (m[2]?.toUpperCase() ?? null) as SectionText;
  if (m[1] && m[2] === undefined && spec.endsWith('.')) return null;
  if (!m[1] && spec.startsWith('.')) return null;
  if (text === 'MIME' && part.length === 0) return null; // RFC 9051: MIME needs a part number
  const isFields = text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT';
  if (isFields !== (m[3] !== undefined)) return null;
  const fields = isFields ? m[3].split(' ').filter((f) => f !== '') : [];
  if (isFields && fields.length === 0) return null;
  for (const f of fields) if (!/^[!-9;-~]+$/.test(f)) return null;
  return { part, text, fields };
}

function sectionLabel(name: string, part: number[], text: SectionText, fields: string[], start?: number): string {
  let spec = part.join('.');
  if (text) spec += `${spec ? '.' : ''}${text}`;
  if (fields.length) spec += ` (${fields.join(' ')})`;
  return `${name}[${spec}]${start !== undefined ? `<${start}>` : ''}`;
}

/** One data item; null when it is not one. */
export function parseFetchItem(atom: string): FetchItem | null {
  const up = atom.toUpperCase();
  if (SIMPLE.has(up)) return { kind: 'simple', name: up as SimpleName };
  if (up === 'RFC822')
    return {
      kind: 'section',
      binary: false,
      peek: false,
      part: [],
      text: null,
      fields: [],
      partial: null,
      label: 'RFC822',
    };
  if (up === 'RFC822.HEADER')
    return {
      kind: 'section',
      binary: false,
      peek: true,
      part: [],
      text: 'HEADER',
      fields: [],
      partial: null,
      label: 'RFC822.HEADER',
    };
  if (up === 'RFC822.TEXT')
    return {
      kind: 'section',
      binary: false,
      peek: false,
      part: [],
      text: 'TEXT',
      fields: [],
      partial: null,
      label: 'RFC822.TEXT',
    };
  const m = ITEM.exec(atom);
  if (!m) return null;
  const kind = m[1].toUpperCase();
  const binary = kind.startsWith('BINARY');
  let section: ReturnType<typeof parseSection>;
  if (binary) {
    // section-binary = "[" [section-part] "]" (RFC 3516 section 4.1)
    const part = parsePart(m[2]);
    section = part ? { part, text: null, fields: [] } : null;
  } else section = parseSection(m[2]);
  if (!section) return null;
  if (kind === 'BINARY.SIZE') {
    if (m[3] !== undefined) return null;
    return { kind: 'binarySize', part: section.part, label: `BINARY.SIZE[${section.part.join('.')}]` };
  }
  let partial: SectionItem['partial'] = null;
  if (m[3] !== undefined) {
    if (m[4] === undefined) return null;
    const start = Number(m[3]);
    const length = Number(m[4]);
    if (length === 0 || !Number.isSafeInteger(start) || start > 0xffffffff || length > 0xffffffff) return null;
    partial = { start, length };
  }
  const name = binary ? 'BINARY' : 'BODY';
  return {
    kind: 'section',
    binary,
    peek: kind.endsWith('.PEEK'),
    ...section,
    partial,
    label: sectionLabel(name, section.part, section.text, section.fields, partial?.start),
  };
}

/**
 * The item list of FETCH: one atom, a macro, or a parenthesised list. `PREVIEW (LAZY)` is accepted
 * (RFC 8970 section 3.1). Returns an error text when something is not a data item.
 */
export function parseFetchItems(v: ImapValue): { items: FetchItem[] } | { error: string } {
  if (v.type === 'atom' && MACROS[v.value.toUpperCase()])
    return { items: MACROS[v.value.toUpperCase()].map((name) => ({ kind: 'simple', name })) };
  const list = v.type === 'list' ? v.items : [v];
  if (list.length === 0) return { error: 'empty data item list' };
  const items: FetchItem[] = [];
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (x.type !== 'atom') return { error: 'data items must be atoms' };
    const it = parseFetchItem(x.value);
    if (!it) return { error: `unknown data item ${x.value.slice(0, 40)}` };
    if (it.kind === 'simple' && it.name === 'PREVIEW' && list[i + 1]?.type === 'list') {
      const mods = list[i + 1] as { type: 'list'; items: ImapValue[] };
      if (!mods.items.every((m) => m.type === 'atom' && m.value.toUpperCase() === 'LAZY'))
        return { error: 'unknown PREVIEW modifier' };
      i++;
    }
    items.push(it);
  }
  return { items };
}
