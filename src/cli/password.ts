// The password an admin gives `petrel account add|passwd` without putting it on the command line, where
// `ps` and the shell history show it: `--password -` reads it from standard input, and on a terminal
// with no --password at all it is asked for twice, not echoed (as passwd(1) and `doveadm pw` do).
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { type Cli, flag, UsageError } from './context.ts';

/** Longest password line read from a pipe: a password is short, a file piped by mistake is not. */
const MAX_LINE = 4096;

export interface PasswordOptions {
  /** Who the password is for, named in the prompt. */
  address: string;
  /** On a terminal an empty answer means "generate one" (account add) instead of a refusal. */
  emptyGenerates?: boolean;
}

/**
 * The password from --password (a value, or "-" for standard input), else asked on a terminal; undefined
 * when there is neither (no --password, standard input not a terminal) or when the terminal answer was
 * empty and `emptyGenerates` is set: the caller decides what that means.
 */
export async function passwordFrom(
  cli: Cli,
  opts: PasswordOptions,
  input: NodeJS.ReadStream = process.stdin,
  prompts: NodeJS.WritableStream = process.stderr,
): Promise<string | undefined> {
  const given = flag(cli, 'password');
  if (given !== undefined && given !== '-') return given;
  // "-" on a terminal would echo what is typed: ask without echo instead.
  if (input.isTTY) return askTwice(input, prompts, opts);
  if (given === '-') return readLine(input);
  return undefined;
}

/** The first line of standard input, its line end (LF or CRLF) removed. */
async function readLine(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += chunk.toString();
    if (text.includes('\n') || text.length > MAX_LINE) break;
  }
  const nl = text.indexOf('\n');
  const line = (nl >= 0 ? text.slice(0, nl) : text).replace(/\r$/, '');
  if (line.length > MAX_LINE) throw new UsageError(`the password on standard input is longer than ${MAX_LINE}`);
  if (line === '') throw new UsageError('no password on standard input (--password - reads one line)');
  return line;
}

async function askTwice(
  input: NodeJS.ReadStream,
  prompts: NodeJS.WritableStream,
  opts: PasswordOptions,
): Promise<string | undefined> {
  // readline on a terminal puts it in raw mode and echoes what it reads to `output`: a sink then shows
  // nothing. Raw mode is on before the first prompt is written, so typeahead is not echoed either.
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const rl = createInterface({ input, output: sink, terminal: true });
  const lines = rl[Symbol.asyncIterator]();
  // In raw mode Ctrl-C is a key, not a signal: it ends the questions as Ctrl-D does.
  rl.on('SIGINT', () => rl.close());
  const ask = async (prompt: string): Promise<string> => {
    prompts.write(prompt);
    const r = await lines.next();
    prompts.write('\n');
    if (r.done) throw new UsageError('cancelled; nothing changed');
    return r.value;
  };
  try {
    const hint = opts.emptyGenerates ? ' (empty: generate one)' : '';
    const first = await ask(`Password for ${opts.address}${hint}: `);
    if (first === '') {
      if (opts.emptyGenerates) return undefined;
      throw new UsageError('empty password; nothing changed');
    }
    if ((await ask('Again: ')) !== first) throw new UsageError('the passwords do not match; nothing changed');
    return first;
  } finally {
    rl.close();
  }
}
