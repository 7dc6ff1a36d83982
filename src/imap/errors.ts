// The one table from stable error codes to IMAP response codes (RFC 5530, RFC 9051 section 7.1).
import type { ErrorCode } from '../core/errors.ts';

export const IMAP_CODES: Record<ErrorCode, string | null> = {
  NOT_FOUND: 'NONEXISTENT',
  ALREADY_EXISTS: 'ALREADYEXISTS',
  INVALID_ARGUMENT: 'CANNOT',
  OVER_QUOTA: 'OVERQUOTA',
  TOO_BIG: 'TOOBIG',
  PERMISSION_DENIED: 'NOPERM',
  AUTH_FAILED: 'AUTHENTICATIONFAILED',
  MAILBOX_NOT_EMPTY: 'CANNOT',
  MAILBOX_HAS_CHILDREN: 'HASCHILDREN',
  CANNOT_DELETE_INBOX: 'CANNOT',
  CONFLICT: 'INUSE',
  MODIFIED: 'MODIFIED',
  LIMIT: 'LIMIT',
  UNAVAILABLE: 'UNAVAILABLE',
  // A full disk is temporary and no fault of the user's (OVERQUOTA would have them delete mail) nor a bug
  // (SERVERBUG): RFC 5530 UNAVAILABLE, "temporary failure because a subsystem is down", retry later.
  STORAGE_FULL: 'UNAVAILABLE',
};
