// STLS (RFC 2595 section 4): AUTHORIZATION state only, refused once TLS is active. Plaintext the client
// pipelined after the command is discarded by the connection, never read as commands after the handshake.
import type { Handler } from '../commands.ts';

export const stls: Handler<'STLS'> = async (s) => {
  if (s.conn.secure) {
    await s.reject('Command not permitted when TLS is active');
    return;
  }
  await s.ok('Begin TLS negotiation');
  await s.flush();
  try {
    await s.conn.startTls(s.deps.tls);
  } catch (e) {
    s.log.info({ err: e }, 'TLS handshake failed');
    s.conn.destroy();
    s.end();
    return;
  }
  // Nothing learnt before TLS survives it.
  s.pendingUser = null;
};
