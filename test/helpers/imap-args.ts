// Test helper: turns criteria text as written in the RFCs into the ImapValue arguments the command
// parser would hand over (atoms, quoted strings, parenthesised lists). Not used by the server.
import type { ImapValue } from '../../src/protocol/imap/types.ts';

export function args(text: string): ImapValue[] {
  let i = 0;
  const list = (close: boolean): ImapValue[] => {
    const out: ImapValue[] = [];
    for (;;) {
      while (text[i] === ' ') i++;
      if (i >= text.length) {
        if (close) throw new Error('unclosed list');
        return out;
      }
      const c = text[i];
      if (c === ')') {
        if (!close) throw new Error('stray )');
        i++;
        return out;
      }
      if (c === '(') {
        i++;
        out.push({ type: 'list', items: list(true) });
      } else if (c === '"') {
        let s = '';
        for (i++; text[i] !== '"'; i++) {
          if (i >= text.length) throw new Error('unclosed string');
          if (text[i] === '\\') i++;
          s += text[i];
        }
        i++;
        out.push({ type: 'string', value: Buffer.from(s, 'utf8'), literal: false, binary: false });
      } else {
        const start = i;
        while (i < text.length && text[i] !== ' ' && text[i] !== '(' && text[i] !== ')') i++;
        out.push({ type: 'atom', value: text.slice(start, i) });
      }
    }
  };
  return list(false);
}

export function literal(value: Buffer | string): ImapValue {
  return { type: 'string', value: Buffer.isBuffer(value) ? value : Buffer.from(value), literal: true, binary: false };
}
