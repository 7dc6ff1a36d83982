// MIME pieces the tests build messages from.

/** One attachment part of a multipart body (boundary `b`), base64 in lines of 76 as mail clients send it. */
export function attachmentPart(filename: string, type: string, body: Buffer | string): string[] {
  return [
    '--b',
    `Content-Type: ${type}; name="${filename}"`,
    `Content-Disposition: attachment; filename="${filename}"`,
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(body).toString('base64').replace(/.{76}/g, '$&\r\n'),
  ];
}

/**
 * Octets uuencoded as POSIX uuencode writes them: "begin <mode> <name>", lines of up to 45 octets, each led
 * by its length + 32 and written 6 bits a character (value + 32, 0 as "`"), "`" and "end" to close.
 */
export function uuencode(data: Buffer, name: string): string {
  const ch = (v: number) => String.fromCharCode(v === 0 ? 0x60 : v + 32);
  const lines = [`begin 644 ${name}`];
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45);
    let line = ch(chunk.length);
    for (let j = 0; j < chunk.length; j += 3) {
      const [a, b = 0, c = 0] = chunk.subarray(j, j + 3);
      line += ch(a >> 2) + ch(((a & 3) << 4) | (b >> 4)) + ch(((b & 15) << 2) | (c >> 6)) + ch(c & 63);
    }
    lines.push(line);
  }
  lines.push('`', 'end');
  return lines.join('\r\n');
}
