// SASL PLAIN (RFC 4616) message decoding, shared by SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH.

export interface PlainCredentials {
  authzid: string;
  authcid: string;
  password: string;
}

/** Decodes the base64 PLAIN response; null when it is not valid base64 or not three NUL-separated fields. */
export function decodePlain(b64: string): PlainCredentials | null {
  const s = b64.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  const parts = Buffer.from(s, 'base64').toString('utf8').split('\0');
  if (parts.length !== 3 || !parts[1] || !parts[2]) return null;
  return { authzid: parts[0], authcid: parts[1], password: parts[2] };
}
