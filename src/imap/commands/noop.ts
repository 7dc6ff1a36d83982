// NOOP (RFC 9051 section 6.1.2): any state; a sync point where pending changes are announced.
import type { Handler } from '../commands.ts';

export const noop: Handler = async (s) => {
  if (s.selected) s.selected.dirty = true; // a poll: look even if no event came (another process may have changed it)
  return undefined;
};
