// Start tags of HTML and their attributes, read the way a browser's tokenizer reads them (HTML Living
// Standard section 13.2.5: tag name, attribute name and value states), in one pass that looks at each
// character a bounded number of times. Quotes delimit a value only where a value starts, as in a
// browser: a regex such as /<a\b((?:[^>"']|"[^"]*")*)>/ pairs quotes across tags when one is stray
// (`href="x target="_blank">`), and restarts at every "<a" of hostile markup ("<a<a<a..." with no ">"),
// which is quadratic: seconds of blocked event loop per megabyte.

export interface Attribute {
  /** Lower-case attribute name. */
  name: string;
  /** The value as written (character references not decoded); '' when there is none. */
  value: string;
}

export interface StartTag {
  /** Lower-case tag name. */
  name: string;
  /** Attributes in order; a repeated name keeps its first value, as browsers do. */
  attributes: Attribute[];
  /** Offset just past the closing ">". */
  end: number;
}

/** Longest start tag read; a longer one is skipped and the scan goes on after what was read. */
export const MAX_TAG = 4096;

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
const isLetter = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/**
 * Every start tag whose name is in `names` (lower case), in order. A tag that does not end within
 * MAX_TAG characters (no ">", or a quoted value that does not close) is skipped and the scan resumes
 * where that attempt stopped, so no character is read more than twice. Comments hold no tags; script
 * and style contents are not treated specially, so a link written there is found too.
 */
export function* startTags(html: string, names: ReadonlySet<string>): Generator<StartTag> {
  let i = html.indexOf('<');
  while (i >= 0 && i < html.length - 1) {
    const next = html.charCodeAt(i + 1);
    if (isLetter(next)) {
      const tag = readTag(html, i, names);
      if (tag.kind === 'tag') yield tag.tag;
      i = html.indexOf('<', tag.resume);
    } else if (next === 33 && html.startsWith('<!--', i)) {
      // A comment: nothing in it is a tag ("<!-->" and "<!--->" close at once). Unclosed, it runs to the end.
      const body = i + 4;
      const end = html.startsWith('>', body)
        ? body
        : html.startsWith('->', body)
          ? body + 1
          : html.indexOf('-->', body);
      if (end < 0) return;
      i = html.indexOf('<', end + 1);
    } else if (next === 33 || next === 47 || next === 63) {
      // "<!DOCTYPE ...>", "<![CDATA[...]>", "</name ...>", "<?...>": up to the next ">".
      const end = html.indexOf('>', i + 2);
      if (end < 0) return;
      i = html.indexOf('<', end + 1);
    } else i = html.indexOf('<', i + 1);
  }
}

type Read = { kind: 'tag'; tag: StartTag; resume: number } | { kind: 'skip'; resume: number };

/** Reads the start tag at `lt` (a "<" followed by a letter). */
function readTag(html: string, lt: number, names: ReadonlySet<string>): Read {
  const limit = Math.min(html.length, lt + MAX_TAG);
  // Tag name state: everything up to white space, "/" or ">".
  let k = lt + 1;
  while (k < limit) {
    const c = html.charCodeAt(k);
    if (isSpace(c) || c === 47 || c === 62) break;
    k++;
  }
  if (k >= limit) return { kind: 'skip', resume: k };
  const name = html.slice(lt + 1, k).toLowerCase();
  const wanted = names.has(name);
  const attributes: Attribute[] = [];
  const seen = new Set<string>();
  for (;;) {
    // Before attribute name: white space and "/" are skipped; ">" ends the tag.
    while (k < limit && (isSpace(html.charCodeAt(k)) || html.charCodeAt(k) === 47)) k++;
    if (k >= limit) return { kind: 'skip', resume: k };
    if (html.charCodeAt(k) === 62) break;
    // Attribute name: up to white space, "/", ">" or "=" (an "=" first is part of the name).
    const nameStart = k;
    k++;
    while (k < limit) {
      const c = html.charCodeAt(k);
      if (isSpace(c) || c === 47 || c === 62 || c === 61) break;
      k++;
    }
    const attrName = html.slice(nameStart, k).toLowerCase();
    let value = '';
    let j = k;
    while (j < limit && isSpace(html.charCodeAt(j))) j++;
    if (j < limit && html.charCodeAt(j) === 61) {
      j++;
      while (j < limit && isSpace(html.charCodeAt(j))) j++;
      if (j >= limit) return { kind: 'skip', resume: j };
      const q = html.charCodeAt(j);
      if (q === 34 || q === 39) {
        const close = html.indexOf(q === 34 ? '"' : "'", j + 1);
        if (close < 0 || close >= limit) return { kind: 'skip', resume: limit };
        value = html.slice(j + 1, close);
        k = close + 1;
      } else if (q === 62) {
        k = j; // "=>": a missing value, the tag ends
      } else {
        const start = j;
        while (j < limit && !isSpace(html.charCodeAt(j)) && html.charCodeAt(j) !== 62) j++;
        value = html.slice(start, j);
        k = j;
      }
    }
    if (wanted && !seen.has(attrName)) {
      seen.add(attrName);
      attributes.push({ name: attrName, value });
    }
  }
  return wanted
    ? { kind: 'tag', tag: { name, attributes, end: k + 1 }, resume: k + 1 }
    : { kind: 'skip', resume: k + 1 };
}
