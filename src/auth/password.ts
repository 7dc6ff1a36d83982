// Password hashing with Argon2id (PHC string format), and verification that costs the same for unknown users.
import { hash, verify } from '@node-rs/argon2';

// OWASP's recommended Argon2id floor (19 MiB, 2 passes, 1 lane): ~20 ms per check on this class of machine.
const PARAMS = { algorithm: 2 /* Argon2id */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

let dummy: Promise<string> | null = null;

/**
 * True when `password` matches `stored`. With `stored` null (no such user) the work of a real check is
 * still done, so response time does not reveal which accounts exist.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (!stored?.startsWith('$argon2')) {
    dummy ??= hashPassword('petrel-timing-equaliser');
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}
