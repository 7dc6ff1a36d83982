// Spam-check test helpers: the default config with changes, and a SpamContext for a raw message.
import { defaults } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { parseMessage } from '../../src/mime/parse.ts';
import type { SpamContext } from '../../src/spam/types.ts';

/** The default config, with `change` applied to its spam section. */
export function spamConfig(change: (spam: Config['spam'], all: Config) => void = () => {}): Config {
  const c = defaults();
  change(c.spam, c);
  return c;
}

/** A message from lines (joined with CRLF). */
export function msg(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

export function context(raw: Buffer, extra: Partial<SpamContext> = {}): SpamContext {
  return {
    raw,
    parsed: parseMessage(raw),
    accountIds: [],
    hostname: 'mx.petrel.test',
    facts: new Map(),
    ...extra,
  };
}
