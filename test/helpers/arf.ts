// ARF feedback-loop complaints (RFC 5965) as receivers send them, for the tests that read them.

/** A feedback-loop complaint as Yahoo's or Microsoft's arrive: multipart/report with the original message. */
export function complaint(opts: {
  type?: string;
  from: string;
  mailFrom?: string;
  subject: string;
  id?: string;
}): Buffer {
  const original =
    `Return-Path: <${opts.mailFrom ?? 'bounce@ours.test'}>\r\nFrom: ${opts.from}\r\nTo: victim@receiver.test\r\n` +
    `Subject: ${opts.subject}\r\nMessage-ID: <orig-1@ours.test>\r\n\r\nBuy now!\r\n`;
  return Buffer.from(
    'From: Feedback Loop <fbl@receiver.test>\r\nTo: abuse@ours.test\r\nSubject: complaint about message from 192.0.2.9\r\n' +
      `Message-ID: <${opts.id ?? 'fbl-1'}@receiver.test>\r\nMIME-Version: 1.0\r\n` +
      'Content-Type: multipart/report; report-type=feedback-report; boundary="fb"\r\n\r\n' +
      '--fb\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n' +
      '--fb\r\nContent-Type: message/feedback-report\r\n\r\n' +
      `Feedback-Type: ${opts.type ?? 'abuse'}\r\nUser-Agent: ReceiverFBL/1.0\r\nVersion: 1\r\n` +
      `Original-Mail-From: <${opts.mailFrom ?? 'bounce@ours.test'}>\r\nArrival-Date: Sun, 06 Dec 2026 08:00:00 +0000\r\n` +
      'Source-IP: 192.0.2.9\r\n\r\n' +
      `--fb\r\nContent-Type: message/rfc822\r\n\r\n${original}\r\n--fb--\r\n`,
  );
}
