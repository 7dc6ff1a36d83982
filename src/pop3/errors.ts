// PetrelError codes to POP3 replies, in one table (RFC 2449 section 8 response codes, RFC 3206 AUTH and
// SYS/*). Anything else is an internal error: logged with the session id, a generic reply, session goes on.
import type { ErrorCode } from '../core/errors.ts';
import { petrelErrorOf } from '../core/errors.ts';
import { err, type RespCode } from '../protocol/pop3/response.ts';

const CODES: Record<ErrorCode, RespCode> = {
  NOT_FOUND: 'SYS/PERM',
  ALREADY_EXISTS: 'SYS/PERM',
  INVALID_ARGUMENT: 'SYS/PERM',
  OVER_QUOTA: 'SYS/PERM',
  TOO_BIG: 'SYS/PERM',
  PERMISSION_DENIED: 'AUTH',
  AUTH_FAILED: 'AUTH',
  MAILBOX_NOT_EMPTY: 'SYS/PERM',
  MAILBOX_HAS_CHILDREN: 'SYS/PERM',
  CANNOT_DELETE_INBOX: 'SYS/PERM',
  CONFLICT: 'SYS/TEMP',
  MODIFIED: 'SYS/TEMP',
  LIMIT: 'SYS/TEMP',
  UNAVAILABLE: 'SYS/TEMP',
  STORAGE_FULL: 'SYS/TEMP',
};

/** The -ERR line for an error a command threw; `internal` tells the session to log it. */
export function errorReply(e: unknown, sessionId: string): { line: string; internal: boolean } {
  const p = petrelErrorOf(e);
  if (p) return { line: err(p.message, CODES[p.code]), internal: false };
  return { line: err(`Internal error, session ${sessionId}`, 'SYS/TEMP'), internal: true };
}
