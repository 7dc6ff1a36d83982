// ID (RFC 2971): the client says who it is; we answer with our name. Any state.
import { ArgError } from '../args.ts';
import type { Handler } from '../commands.ts';

export const id: Handler = async (s, cmd) => {
  const a = cmd.args[0];
  if (cmd.args.length !== 1 || !a || (a.type !== 'list' && !(a.type === 'atom' && a.value.toUpperCase() === 'NIL')))
    throw new ArgError('ID takes a parameter list or NIL');
  if (a.type === 'list') {
    if (a.items.length % 2 !== 0 || a.items.length > 60) throw new ArgError('ID parameters come in pairs (at most 30)');
    const fields: Record<string, string> = {};
    for (let i = 0; i < a.items.length; i += 2) {
      const k = a.items[i];
      const v = a.items[i + 1];
      if (k.type !== 'string' || v.type === 'list') throw new ArgError('ID field names are strings');
      fields[k.value.toString('utf8').slice(0, 30)] =
        v.type === 'string' ? v.value.toString('utf8').slice(0, 100) : 'NIL';
    }
    // Once a session, as Dovecot logs it: a pipeline of IDs would otherwise write a line each.
    if (!s.idLogged) s.log.info({ clientId: fields }, 'client id');
    s.idLogged = true;
  }
  s.push('* ID ("name" "Petrel" "vendor" "Petrel")\r\n');
  return undefined;
};
