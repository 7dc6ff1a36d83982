// NOOP (RFC 1939 section 5): TRANSACTION state; does nothing (the read itself resets the idle timer).
import type { Handler } from '../commands.ts';

export const noop: Handler<'NOOP'> = (s) => s.ok();
