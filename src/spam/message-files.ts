// Messages from files for bulk training and `petrel spam check`: a Maildir (cur/ and new/), an mbox file
// (split at "From " lines, mboxrd ">From " unescaped), a folder of .eml/.txt files, or one message file.
// Each comes out as stored: no mbox envelope line, CRLF line ends.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

const MESSAGE_EXT = new Set(['.eml', '.txt', '.msg', '.mbox', '.mbx', '']);

/** A message as stored: CRLF line ends (bare LF or CR become CRLF). */
export function crlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** The messages of one file: an mbox gives each of its messages, anything else is one message. */
export function messagesInFile(data: Buffer): Buffer[] {
  if (data.subarray(0, 5).toString('latin1') !== 'From ') return [crlf(data)];
  const out: Buffer[] = [];
  let cur: string[] | null = null;
  let prevBlank = true;
  const flush = () => {
    if (!cur) return;
    // The blank line before the next "From " separates messages; it is not part of the message.
    while (cur.length && (cur[cur.length - 1] === '' || cur[cur.length - 1] === '\r')) cur.pop();
    out.push(crlf(Buffer.from(`${cur.join('\n')}\n`, 'latin1')));
  };
  for (const line of data.toString('latin1').split('\n')) {
    // A message starts at a "From " line at the start or after a blank line (mboxo/mboxrd).
    if (prevBlank && line.startsWith('From ')) {
      flush();
      cur = [];
      prevBlank = false;
      continue;
    }
    cur?.push(/^>+From /.test(line) ? line.slice(1) : line);
    prevBlank = line === '' || line === '\r';
  }
  flush();
  return out;
}

/** Files holding messages under a path: Maildir cur/ and new/, a folder's message files, or the file. */
export function messageFiles(path: string): string[] {
  const st = statSync(path);
  if (!st.isDirectory()) return [path];
  const names = new Set(readdirSync(path));
  if (names.has('cur') || names.has('new')) {
    const out: string[] = [];
    for (const sub of ['cur', 'new'])
      if (names.has(sub))
        for (const n of readdirSync(join(path, sub)).sort()) if (!n.startsWith('.')) out.push(join(path, sub, n));
    return out;
  }
  return [...names]
    .sort()
    .filter((n) => !n.startsWith('.') && MESSAGE_EXT.has(extname(n).toLowerCase()))
    .map((n) => join(path, n))
    .filter((p) => statSync(p).isFile());
}

/** Every message under a path, lazily, with the file it came from. */
export function* readMessages(path: string): Generator<{ file: string; raw: Buffer }> {
  for (const file of messageFiles(path)) for (const raw of messagesInFile(readFileSync(file))) yield { file, raw };
}
