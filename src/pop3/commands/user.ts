// USER name (RFC 1939 section 7): AUTHORIZATION state. Always +OK for any name, so the reply does not
// reveal which accounts exist; refused with [AUTH] where plaintext passwords are not allowed (RFC 2595).
import type { Handler } from '../commands.ts';

export const user: Handler<'USER'> = async (s, cmd) => {
  s.pendingUser = null;
  if (!s.plaintextAllowed) {
    await s.reject('Plaintext authentication requires TLS: use STLS first', 'AUTH');
    return;
  }
  s.pendingUser = cmd.name;
  await s.ok('Send your password');
};
