// A Petrel with one POP3 user and helpers to fill the maildrop, for the POP3 end-to-end tests.
import type { Config } from '../../src/config/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

export const USER = 'alice@example.test';
export const PASS = 'correct horse';

export interface Pop3Env {
  srv: TestServer;
  accountId: number;
  pop3: number;
  pop3s: number;
  /** Delivers raw messages to the user's INBOX, in order. */
  deliver(...raw: (string | Buffer)[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startPop3Env(
  opts: { backend?: 'sqlite' | 'postgres'; pgUrl?: string; configure?: (c: Config) => void } = {},
): Promise<Pop3Env> {
  const srv = await startTestServer({
    backend: opts.backend,
    pgUrl: opts.pgUrl,
    configure: (c) => {
      for (const [name, l] of Object.entries(c.listeners)) if (name !== 'pop3' && name !== 'pop3s') l.enabled = false;
      opts.configure?.(c);
    },
  });
  await srv.app.directory.addDomain('example.test');
  const acc = await srv.app.directory.addAccount(USER, PASS);
  return {
    srv,
    accountId: acc.id,
    pop3: srv.ports.pop3,
    pop3s: srv.ports.pop3s,
    async deliver(...raw) {
      for (const r of raw) await srv.app.mail.deliver(Buffer.isBuffer(r) ? r : Buffer.from(r), [{ accountId: acc.id }]);
    },
    stop: () => srv.stop(),
  };
}

/** A small RFC 5322 message with CRLF line ends. */
export function message(subject: string, body = 'Hello.\r\n'): string {
  return `From: Bob <bob@example.test>\r\nTo: ${USER}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n\r\n${body}`;
}
