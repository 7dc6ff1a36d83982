// NAMESPACE (RFC 2342, RFC 9051 section 6.3.10): one personal namespace, no prefix, '/' delimiter.
import type { Handler } from '../commands.ts';

export const namespace: Handler = async (s) => {
  s.push('* NAMESPACE (("" "/")) NIL NIL\r\n');
  return undefined;
};
