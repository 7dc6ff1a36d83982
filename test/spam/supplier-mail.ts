// Shared set-up of the attachment tests: a server taking mail over SMTP for one account, and a supplier's
// message (a text part, then attachment parts) sent to it over raw SMTP from a client address of the test's.
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type SmtpReply, transaction } from '../helpers/smtp-client.ts';

/** A server with the SMTP listener on, the account's domain and the account. */
export async function startMailboxServer(address: string, password: string): Promise<TestServer> {
  const t = await startTestServer({
    configure(c) {
      c.listeners.smtp.enabled = true;
    },
  });
  await t.app.directory.addDomain(address.slice(address.lastIndexOf('@') + 1));
  await t.app.directory.addAccount(address, password);
  return t;
}

let n = 0;

/**
 * Sends accounts@supplier.test's message to `to`: `text` as its first part, then `parts` (the lines of
 * further parts of boundary "b", each starting with its "--b" line, as attachmentPart gives them).
 */
export function sendSupplierMail(
  t: TestServer,
  o: { ip: string; to: string; subject: string; text: string; parts: string[] },
): Promise<SmtpReply> {
  const data = [
    'From: Accounts <accounts@supplier.test>',
    `To: ${o.to}`,
    `Subject: ${o.subject}`,
    'Date: Mon, 07 Dec 2026 09:00:00 +0000',
    `Message-ID: <${Date.now()}.${++n}@supplier.test>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    o.text,
    ...o.parts,
    '--b--',
    '',
  ].join('\r\n');
  return transaction(t.ports.smtp, {
    ip: o.ip,
    helo: 'mail.supplier.test',
    from: 'accounts@supplier.test',
    to: [o.to],
    data,
  });
}
