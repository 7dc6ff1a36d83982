// The building blocks of the configuration schema: typed fields with defaults and documentation.

export interface FieldDef<T> {
  kind: 'string' | 'int' | 'bool' | 'list' | 'enum' | 'tables';
  default: T;
  doc: string;
  values?: readonly string[];
  min?: number;
  max?: number;
  /** Never printed (logs, `petrel config show`). */
  secret?: boolean;
  /** Value `petrel init` writes into a production config, when it differs from the default. */
  production?: T;
  /** For 'tables' (a TOML array of tables, [[x.y]]): the fields of one entry. */
  item?: SectionDef;
  /** A duration ("30s", "5m", "4h", "5d"; "0"), or for a list each entry one: `petrel config check` and
   *  `serve` parse every such field before anything starts. */
  duration?: boolean;
  /** An 'int' counted in octets that may also be written with a unit ("64K", "10M"; config/size.ts): the
   *  loaded config holds the number of octets. */
  size?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: a field of any value type
export type AnyDef = FieldDef<any> | SectionDef;

export interface SectionDef<F extends Record<string, AnyDef> = Record<string, AnyDef>> {
  kind: 'section';
  doc: string;
  fields: F;
}

export type Infer<S> =
  S extends FieldDef<infer T> ? T : S extends SectionDef<infer F> ? { [K in keyof F]: Infer<F[K]> } : never;

type Extra<T> = Partial<Pick<FieldDef<T>, 'min' | 'max' | 'secret' | 'production' | 'duration'>>;

export const str = (def: string, doc: string, extra: Extra<string> = {}): FieldDef<string> => ({
  kind: 'string',
  default: def,
  doc,
  ...extra,
});
/** A duration as text: "500ms", "30s", "5m", "4h", "5d", or "0" (config/duration.ts). */
export const duration = (def: string, doc: string, extra: Extra<string> = {}): FieldDef<string> => ({
  kind: 'string',
  default: def,
  doc,
  duration: true,
  ...extra,
});
/** A size in octets, also written with a unit ("512K", "10M", "1G"; config/size.ts); a number once loaded. */
export const size = (def: number, doc: string, extra: Extra<number> = {}): FieldDef<number> => ({
  kind: 'int',
  default: def,
  doc,
  size: true,
  ...extra,
});
export const int = (def: number, doc: string, extra: Extra<number> = {}): FieldDef<number> => ({
  kind: 'int',
  default: def,
  doc,
  ...extra,
});
export const bool = (def: boolean, doc: string, extra: Extra<boolean> = {}): FieldDef<boolean> => ({
  kind: 'bool',
  default: def,
  doc,
  ...extra,
});
export const list = (def: string[], doc: string, extra: Extra<string[]> = {}): FieldDef<string[]> => ({
  kind: 'list',
  default: def,
  doc,
  ...extra,
});
export const oneOf = <V extends string>(
  values: readonly V[],
  def: V,
  doc: string,
  extra: Extra<V> = {},
): FieldDef<V> => ({
  kind: 'enum',
  values,
  default: def,
  doc,
  ...extra,
});
/** A TOML array of tables (`[[section.key]]` entries), each entry with the fields of `item`. */
export const tables = <F extends Record<string, AnyDef>>(
  item: SectionDef<F>,
  doc: string,
): FieldDef<Infer<SectionDef<F>>[]> => ({
  kind: 'tables',
  default: [],
  doc,
  item,
});
export const section = <F extends Record<string, AnyDef>>(doc: string, fields: F): SectionDef<F> => ({
  kind: 'section',
  doc,
  fields,
});

export function isSection(x: AnyDef): x is SectionDef {
  return x.kind === 'section';
}
