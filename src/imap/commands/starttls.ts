// STARTTLS (RFC 9051 section 6.2.1): OK, then the handshake; plaintext pipelined after it is dropped
// (Connection.startTls), and the client asks CAPABILITY again.
import type { Handler } from '../commands.ts';

export const starttls: Handler = async (s) => {
  if (s.conn.secure) return { status: 'BAD', text: 'TLS is already active' };
  const tls = s.ctx.tls;
  if (!tls) return { status: 'NO', text: 'TLS is not available' };
  const context = await tls();
  return {
    status: 'OK',
    text: 'Begin TLS negotiation now',
    noSync: true,
    after: async () => {
      try {
        await s.conn.startTls(context);
      } catch (err) {
        s.log.info({ err }, 'STARTTLS handshake failed');
        s.conn.destroy();
      }
    },
  };
};
