// Stable error codes shared by every protocol; each protocol maps them to replies in one table.

export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'OVER_QUOTA'
  | 'TOO_BIG'
  | 'PERMISSION_DENIED'
  | 'AUTH_FAILED'
  | 'MAILBOX_NOT_EMPTY'
  | 'MAILBOX_HAS_CHILDREN'
  | 'CANNOT_DELETE_INBOX'
  | 'CONFLICT'
  | 'MODIFIED'
  | 'LIMIT'
  | 'UNAVAILABLE';

/** An error whose code is meant for the client; its message is safe to show. */
export class PetrelError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'PetrelError';
  }
}

export function isPetrelError(e: unknown, code?: ErrorCode): e is PetrelError {
  return e instanceof PetrelError && (code === undefined || e.code === code);
}
