// APOP name digest (RFC 1939 section 7): refused. APOP needs each user's password in a form the server can
// read back (MD5 over the greeting's timestamp and the shared secret); Petrel stores only Argon2id hashes,
// by design. So the greeting carries no timestamp, which is how clients learn APOP is not offered
// (RFC 2449 section 6), and an APOP command anyway gets -ERR [AUTH] saying why.
import type { Handler } from '../commands.ts';

export const apop: Handler<'APOP'> = async (s) => {
  await s.loginFailed('APOP is not available: passwords are stored only as Argon2id hashes; use USER/PASS or AUTH');
};
