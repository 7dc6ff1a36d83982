// CAPABILITY (RFC 9051 section 6.1.1): any state.
import type { Handler } from '../commands.ts';

export const capability: Handler = async (s) => {
  s.push(`* CAPABILITY ${s.capabilityList()}\r\n`);
  return undefined;
};
