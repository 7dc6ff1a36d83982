// The one table from stable error codes to SMTP replies (RFC 3463 enhanced codes); anything that is not
// a PetrelError is an internal failure: logged by the session, answered with a generic temporary reply.
import type { ErrorCode } from '../core/errors.ts';
import { petrelErrorOf } from '../core/errors.ts';
import { type Reply, reply } from '../protocol/smtp/reply.ts';

const TABLE: Record<ErrorCode, [number, string, string]> = {
  NOT_FOUND: [550, '5.1.1', 'No such user here'],
  ALREADY_EXISTS: [451, '4.3.0', 'Conflict, try again later'],
  INVALID_ARGUMENT: [501, '5.5.4', 'Invalid argument'],
  OVER_QUOTA: [552, '5.2.2', 'Mailbox full: quota exceeded'],
  TOO_BIG: [552, '5.3.4', 'Message too big'],
  PERMISSION_DENIED: [550, '5.7.1', 'Not allowed'],
  AUTH_FAILED: [535, '5.7.8', 'Authentication credentials invalid'],
  MAILBOX_NOT_EMPTY: [451, '4.3.0', 'Try again later'],
  MAILBOX_HAS_CHILDREN: [451, '4.3.0', 'Try again later'],
  CANNOT_DELETE_INBOX: [451, '4.3.0', 'Try again later'],
  CONFLICT: [451, '4.3.0', 'Conflict, try again later'],
  MODIFIED: [451, '4.3.0', 'Conflict, try again later'],
  LIMIT: [452, '4.5.3', 'Limit reached'],
  // The outbound queue (or another service) refusing for now: the client keeps the message and retries.
  UNAVAILABLE: [451, '4.3.2', 'Service temporarily unavailable, try again later'],
  // A full disk: RFC 5321 section 4.2.3 (452, insufficient system storage) and RFC 3463 X.3.1 (mail
  // system full), as Postfix answers; the client keeps the message and retries.
  STORAGE_FULL: [452, '4.3.1', 'Insufficient system storage, try again later'],
};

/** The reply for an error, or null when it is not one of ours (then: log it, reply internalError). */
export function replyForError(e: unknown): Reply | null {
  const p = petrelErrorOf(e);
  if (!p) return null;
  const [code, enhanced, text] = TABLE[p.code];
  return reply(code, enhanced, text);
}

export const internalError = (): Reply => reply(451, '4.3.0', 'Local error in processing, try again later');
