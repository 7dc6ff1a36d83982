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
