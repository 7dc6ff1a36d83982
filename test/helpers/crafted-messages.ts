// Hand-made messages that the corpus lacks: encoded words, base64 and quoted-printable bodies, HTML,
// repeated fields, no Date or Subject, a sender-local date across midnight, quoted Message-IDs.
const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');

export function crafted(): Buffer[] {
  return [
    crlf([
      'From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>',
      'To: user@example.com',
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=',
      'Date: Mon, 1 Jan 2024 23:30:00 -0800',
      'Message-ID: <"crafted.1"@example.de>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Straße ÜBER alles\r\n').toString('base64'),
    ]),
    crlf([
      'From: Dup Sender <dup@example.net>',
      'To: user@example.com',
      'Cc: Carla <carla@example.net>',
      'Bcc: hidden@example.net',
      'Subject: Re: Grüße aus München',
      'Date: Tue, 2 Jan 2024 08:00:00 +0100',
      'Message-ID: <crafted.2@example.net>',
      'In-Reply-To: <crafted.1@example.de>',
      'X-Dup: first value',
      'X-Dup: second value',
      '',
      'A reply.',
    ]),
    crlf(['From: nodate@example.org', 'To: user@example.com', '', 'No date, no subject.']),
    crlf([
      'From: html@example.org',
      'To: user@example.com',
      'Subject: html only',
      'Date: Wed, 3 Jan 2024 12:00:00 +0000',
      'Content-Type: text/html; charset=us-ascii',
      '',
      '<html><body><p>Hello <b>World</b></p></body></html>',
    ]),
    crlf([
      'From: qp@example.org',
      'To: user@example.com',
      'Subject: [list] Fwd: menu',
      'Date: Thu, 4 Jan 2024 12:00:00 +0000',
      'Message-ID: <crafted.5@example.org>',
      'References: <crafted.1@example.de> <crafted.2@example.net>',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'caf=C3=A9 cr=C3=A8me',
    ]),
  ];
}
