// Python's strict GB2312 and EUC-KR codecs as pyzor decodes with them (errors="ignore"), where WHATWG's
// decoders (TextDecoder) read the wider GBK and Windows-949 and so keep characters Python drops. A byte
// pair outside the character set costs its first byte only (CPython's CJK decoders report errors one
// byte long), and decoding goes on at the second. The tables are the cells each set leaves empty, read
// off Python 3.11's codecs (`bytes([lead, trail]).decode(codec)` over every pair), and the few cells
// where the two map the same bytes differently. KS X 1001:1998 make-up sequences (A4D4 ...) are not read.

interface Dbcs {
  /** The WHATWG decoder that maps every cell of the set as Python does, but `overrides`. */
  whatwg: string;
  /** Highest lead byte (lowest is 0xA1; trail bytes are 0xA1-0xFE). */
  lastLead: number;
  /** Cells (lead << 8 | trail) the set leaves empty, as inclusive ranges. */
  empty: [number, number][];
  overrides: Map<number, string>;
}

const GB2312: Dbcs = {
  whatwg: 'gbk',
  lastLead: 0xf7,
  empty: [
    [0xa2a1, 0xa2b0],
    [0xa2e3, 0xa2e4],
    [0xa2ef, 0xa2f0],
    [0xa2fd, 0xa2fe],
    [0xa4f4, 0xa4fe],
    [0xa5f7, 0xa5fe],
    [0xa6b9, 0xa6c0],
    [0xa6d9, 0xa6fe],
    [0xa7c2, 0xa7d0],
    [0xa7f2, 0xa7fe],
    [0xa8bb, 0xa8c4],
    [0xa8ea, 0xa8fe],
    [0xa9a1, 0xa9a3],
    [0xa9f0, 0xa9fe],
    [0xaaa1, 0xaffe],
    [0xd7fa, 0xd7fe],
  ],
  overrides: new Map([
    [0xa1a4, '\u30fb'],
    [0xa1aa, '\u2015'],
  ]),
};

const EUC_KR: Dbcs = {
  whatwg: 'euc-kr',
  lastLead: 0xfe,
  empty: [
    [0xa2e8, 0xa2fe],
    [0xa4d4, 0xa4d4],
    [0xa5ab, 0xa5af],
    [0xa5ba, 0xa5c0],
    [0xa5d9, 0xa5e0],
    [0xa5f9, 0xa5fe],
    [0xa6e5, 0xa6fe],
    [0xa7f0, 0xa7fe],
    [0xa8a5, 0xa8a5],
    [0xa8a7, 0xa8a7],
    [0xa8b0, 0xa8b0],
    [0xaaf4, 0xaafe],
    [0xabf7, 0xabfe],
    [0xacc2, 0xacd0],
    [0xacf2, 0xacfe],
    [0xada1, 0xaffe],
    [0xc9a1, 0xc9fe],
    [0xfea1, 0xfefe],
  ],
  overrides: new Map([
    [0xa2e6, '\u20ac'],
    [0xa2e7, '\u00ae'],
  ]),
};

/** Python's names for the two codecs (after its normalisation: lower case, "-" and " " as "_"). */
const ALIASES = new Map<string, Dbcs>([
  ...[
    'gb2312',
    'chinese',
    'csiso58gb231280',
    'euc_cn',
    'euccn',
    'eucgb2312_cn',
    'gb2312_1980',
    'gb2312_80',
    'iso_ir_58',
  ].map((a) => [a, GB2312] as const),
  ...['euc_kr', 'euckr', 'korean', 'ksc5601', 'ks_c_5601', 'ks_c_5601_1987', 'ksx1001', 'ks_x_1001'].map(
    (a) => [a, EUC_KR] as const,
  ),
]);

function inSet(set: Dbcs, lead: number, trail: number): boolean {
  if (lead < 0xa1 || lead > set.lastLead || trail < 0xa1 || trail > 0xfe) return false;
  const cell = (lead << 8) | trail;
  for (const [from, to] of set.empty) if (cell >= from && cell <= to) return false;
  return true;
}

/**
 * The text as Python decodes it with errors="ignore" (or "replace": U+FFFD for each dropped byte), or null
 * when the charset is neither codec.
 */
export function decodePythonDbcs(buf: Buffer, charset: string, errors: 'ignore' | 'replace' = 'ignore'): string | null {
  const set = ALIASES.get(charset.toLowerCase().replace(/[-\s]/g, '_'));
  if (!set) return null;
  const decoder = new TextDecoder(set.whatwg);
  let out = '';
  const kept: number[] = [];
  const flush = () => {
    if (kept.length) out += decoder.decode(Uint8Array.from(kept));
    kept.length = 0;
  };
  for (let i = 0; i < buf.length; ) {
    const c = buf[i];
    if (c < 0x80) {
      // ASCII by hand: Node's decoders drop 0x7F, which Python keeps.
      flush();
      out += String.fromCharCode(c);
      i++;
    } else if (i + 1 < buf.length && inSet(set, c, buf[i + 1])) {
      const other = set.overrides.get((c << 8) | buf[i + 1]);
      if (other) {
        flush();
        out += other;
      } else kept.push(c, buf[i + 1]);
      i += 2;
    } else {
      // not a character of the set: its first byte is dropped
      if (errors === 'replace') {
        flush();
        out += '\ufffd';
      }
      i++;
    }
  }
  flush();
  return out;
}

// Python's shift_jis is JIS X 0208 as such, where WHATWG's Shift_JIS is Microsoft's cp932: six cells map
// to other characters, and the NEC row 13 (8740-879C), NEC-selected and IBM extensions (ED40-EEFC,
// FA40-FC4B) and the user-defined area (F040-F9FC) are not characters at all. Read off Python 3.11 by
// decoding every lead/trail pair with both.
const SJIS_OVERRIDES = new Map([
  [0x8160, '\u301c'],
  [0x8161, '\u2016'],
  [0x817c, '\u2212'],
  [0x8191, '\u00a2'],
  [0x8192, '\u00a3'],
  [0x81ca, '\u00ac'],
]);
const SJIS_EMPTY: [number, number][] = [
  [0x8740, 0x879c],
  [0xed40, 0xeefc],
  [0xf040, 0xfc4b],
];

/** Python's shift_jis with errors="ignore" or "replace" (an invalid pair costs its first byte only). */
export function decodePythonShiftJis(buf: Buffer, errors: 'ignore' | 'replace'): string {
  const decoder = new TextDecoder('shift_jis');
  let out = '';
  const kept: number[] = [];
  const flush = () => {
    if (kept.length) out += decoder.decode(Uint8Array.from(kept));
    kept.length = 0;
  };
  const isLead = (c: number) => (c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc);
  const isTrail = (c: number) => c >= 0x40 && c <= 0xfc && c !== 0x7f;
  for (let i = 0; i < buf.length; ) {
    const c = buf[i];
    if (c < 0x80 || (c >= 0xa1 && c <= 0xdf)) {
      // ASCII and the half-width katakana (U+FF61-U+FF9F) by hand: Node's decoder turns 0x7F into U+001A.
      flush();
      out += String.fromCharCode(c < 0x80 ? c : c - 0xa1 + 0xff61);
      i++;
      continue;
    }
    const cell = (c << 8) | buf[i + 1];
    if (
      isLead(c) &&
      i + 1 < buf.length &&
      isTrail(buf[i + 1]) &&
      !SJIS_EMPTY.some(([a, b]) => cell >= a && cell <= b)
    ) {
      const pair = decoder.decode(Uint8Array.of(c, buf[i + 1]));
      if (pair.length === 1 && pair !== '\ufffd') {
        const other = SJIS_OVERRIDES.get(cell);
        if (other) {
          flush();
          out += other;
        } else kept.push(c, buf[i + 1]);
        i += 2;
        continue;
      }
    }
    flush();
    if (errors === 'replace') out += '\ufffd';
    i++;
  }
  flush();
  return out;
}
