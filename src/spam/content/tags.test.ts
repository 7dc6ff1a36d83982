// The start-tag scanner against a browser's: parse5's tokenizer (the HTML Living Standard's, as jsdom
// uses it) on every HTML part of the SpamAssassin corpus, comparing the linking tags and their
// href/src/action values; then the hostile markup a regex scanner was quadratic on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type Token, Tokenizer } from 'parse5';
import { corpusFiles, storedForm } from '../../../test/helpers/corpus.ts';
import { decodeAttribute } from '../../mime/html.ts';
import { parseMessage } from '../../mime/parse.ts';
import { bodies } from './parts.ts';
import { startTags } from './tags.ts';

const LINKING = new Set(['a', 'area', 'img', 'form', 'iframe', 'frame', 'link', 'base', 'embed', 'source', 'input']);
const WANTED = new Set(['href', 'src', 'action']);

/** What a browser's tokenizer reads: linking start tags with their link attributes. */
function browserTags(html: string): string[] {
  const out: string[] = [];
  const ignore = () => {};
  const handler = new Proxy(
    {},
    {
      get: (_t, key) =>
        key === 'onStartTag'
          ? (tok: Token.TagToken) => {
              if (!LINKING.has(tok.tagName)) return;
              const attrs = tok.attrs.filter((a) => WANTED.has(a.name)).map((a) => `${a.name}=${a.value}`);
              out.push(`${tok.tagName} ${attrs.join(' ')}`);
            }
          : ignore,
    },
  );
  new Tokenizer({ sourceCodeLocationInfo: false }, handler as never).write(html, true);
  return out;
}

function ourTags(html: string): string[] {
  return [...startTags(html, LINKING)].map((t) => {
    const attrs = t.attributes.filter((a) => WANTED.has(a.name)).map((a) => `${a.name}=${decodeAttribute(a.value)}`);
    return `${t.name} ${attrs.join(' ')}`;
  });
}

test('corpus HTML: the same linking tags and link values as a browser tokenizer', () => {
  let parts = 0;
  const differ: string[] = [];
  for (const file of corpusFiles()) {
    const raw = storedForm(readFileSync(file));
    for (const html of bodies(raw, parseMessage(raw)).html) {
      parts++;
      // A browser turns CRLF into LF before tokenizing (input stream preprocessing); our values keep
      // CR, which URL parsing drops anyway. A U+00A0 in a value (&nbsp; or the octet) is compared as a space.
      const lf = html.replace(/\r\n?/g, '\n');
      const a = ourTags(lf).join('\n').replaceAll('\u00a0', ' ');
      const b = browserTags(lf).join('\n').replaceAll('\u00a0', ' ');
      if (a !== b) differ.push(file.split('/').slice(-2).join('/'));
    }
  }
  assert.ok(parts > 1000, `${parts} HTML parts`);
  assert.deepEqual(differ, []);
});

test('hostile markup: no ">", stray quotes, open comments; each read once', () => {
  const run = (unit: string) => unit.repeat((1 << 19) / unit.length);
  for (const html of [run('<a'), run('<a "'), run("<a x='"), run('<a href='), run('<!'), run('</a'), run('<a x=y ')]) {
    const tail = '<a href="http://after.example/">';
    const tags = [...startTags(html + tail, LINKING)];
    // What a browser would make of each is beside the point; the scan ends, in one pass.
    assert.ok(tags.length <= html.length, html.slice(0, 8));
  }
  assert.deepEqual([...startTags(`<!-- <a href="http://hidden.example/"> -->${'<a href=x>'}`, LINKING)].length, 1);
  assert.deepEqual([...startTags('<!-- never closed <a href=x>', LINKING)], []);
});
