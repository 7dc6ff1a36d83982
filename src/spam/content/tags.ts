// Start tags of HTML (name and attribute text) found by a scan that looks at each character a bounded
// number of times. A regex such as /<a\b((?:[^>"']|"[^"]*")*)>/g restarts at every "<a" of hostile
// markup ("<a<a<a..." with no ">") and rescans to the end each time: quadratic, seconds of blocked event
// loop per megabyte.

export interface StartTag {
  /** Lower-case tag name. */
  name: string;
  /** The text between the name and the closing ">" (attributes), quotes respected. */
  attrs: string;
  /** Offset just past the closing ">". */
  end: number;
}

/** Longest start tag looked at; past it the tag is skipped and the scan goes on after what was read. */
export const MAX_TAG = 4096;
const MAX_NAME = 16;

const isNameChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
const isLetter = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/**
 * Every start tag whose name is in `names` (lower case), in order. A tag must end with ">" outside
 * quotes within MAX_TAG characters; one that does not (unclosed quote, no ">") is skipped and the scan
 * resumes where that attempt stopped, so no character is read more than twice.
 */
export function* startTags(html: string, names: ReadonlySet<string>): Generator<StartTag> {
  let i = html.indexOf('<');
  while (i >= 0 && i < html.length - 1) {
    let j = i + 1;
    if (!isLetter(html.charCodeAt(j))) {
      i = html.indexOf('<', j);
      continue;
    }
    while (j < html.length && j - i <= MAX_NAME && isNameChar(html.charCodeAt(j))) j++;
    const name = html.slice(i + 1, j).toLowerCase();
    // As /<name\b/: the name must end the run of name characters.
    if (!names.has(name) || (j < html.length && isNameChar(html.charCodeAt(j)))) {
      i = html.indexOf('<', j);
      continue;
    }
    const limit = Math.min(html.length, j + MAX_TAG);
    let k = j;
    let quote = 0;
    for (; k < limit; k++) {
      const c = html.charCodeAt(k);
      if (quote) {
        if (c === quote) quote = 0;
      } else if (c === 34 || c === 39) quote = c;
      else if (c === 62) break;
    }
    if (k < limit) {
      yield { name, attrs: html.slice(j, k), end: k + 1 };
      i = html.indexOf('<', k + 1);
    } else i = html.indexOf('<', Math.max(k, j));
  }
}
