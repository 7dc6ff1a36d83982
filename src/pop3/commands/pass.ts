// PASS string (RFC 1939 section 7): AUTHORIZATION state, immediately after a successful USER. The password
// is the rest of the line, spaces included; it is never logged.
import type { Handler } from '../commands.ts';
import { finishLogin, peerOf } from './auth.ts';

export const pass: Handler<'PASS'> = async (s, cmd) => {
  const name = s.pendingUser;
  s.pendingUser = null;
  if (name === null) {
    await s.reject('USER first');
    return;
  }
  if (!s.plaintextAllowed) {
    await s.reject('Plaintext authentication requires TLS: use STLS first', 'AUTH');
    return;
  }
  await finishLogin(s, s.deps.auth.login(name, cmd.password, peerOf(s)), 'USER/PASS');
};
