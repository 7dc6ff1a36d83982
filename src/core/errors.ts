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
  | 'UNAVAILABLE'
  | 'STORAGE_FULL';

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

/**
 * What the storage layers say when the disk, or the file-system quota of Petrel's own user, is full:
 * SQLite's SQLITE_FULL, ENOSPC and EDQUOT from the file system, PostgreSQL's disk_full (SQLSTATE 53100).
 */
const STORAGE_FULL = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']);

/**
 * The PetrelError a protocol answers `e` with: `e` itself, a STORAGE_FULL one for a full disk (a temporary
 * condition the client should retry after, not a fault of ours), or null for an internal failure.
 */
export function petrelErrorOf(e: unknown): PetrelError | null {
  if (e instanceof PetrelError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STORAGE_FULL.has(code))
    return new PetrelError('STORAGE_FULL', 'Insufficient system storage, try again later');
  return null;
}

/** A full disk: logged as a warning in one line (the operator's to fix), not as a failure with a stack. */
export function isStorageFull(e: unknown): boolean {
  return petrelErrorOf(e)?.code === 'STORAGE_FULL';
}
