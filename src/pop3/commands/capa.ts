// CAPA (RFC 2449 section 5): valid in AUTHORIZATION and TRANSACTION. Capabilities that depend on the
// connection: STLS only before TLS and before login (RFC 2595 section 4); USER and SASL PLAIN only where
// plaintext passwords are allowed (RFC 5034 section 4); so a client re-issues CAPA after STLS.
import { multiLine } from '../../protocol/pop3/response.ts';
import type { Handler } from '../commands.ts';
import type { Pop3Session } from '../session.ts';
import { mechanisms } from './auth.ts';

export function capabilities(s: Pop3Session): string[] {
  const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER'];
  if (s.state === 'authorization') {
    if (s.plaintextAllowed) caps.push('USER');
    const mechs = mechanisms(s);
    if (mechs.length) caps.push(`SASL ${mechs.join(' ')}`);
    if (!s.conn.secure) caps.push('STLS');
  }
  caps.push('IMPLEMENTATION Petrel');
  return caps;
}

export const capa: Handler<'CAPA'> = (s) => s.send(multiLine('Capability list follows', capabilities(s)));
