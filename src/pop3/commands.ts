// The POP3 command table: each verb, the states it is valid in, its handler (one file per command).
// RFC 1939 sections 4-7, RFC 2449 section 5 (CAPA), RFC 2595 section 4 (STLS), RFC 5034 section 4 (AUTH).
import type { Pop3Command, Verb } from '../protocol/pop3/command.ts';
import { apop } from './commands/apop.ts';
import { auth } from './commands/auth.ts';
import { capa } from './commands/capa.ts';
import { dele } from './commands/dele.ts';
import { list } from './commands/list.ts';
import { noop } from './commands/noop.ts';
import { pass } from './commands/pass.ts';
import { quit } from './commands/quit.ts';
import { retr } from './commands/retr.ts';
import { rset } from './commands/rset.ts';
import { stat } from './commands/stat.ts';
import { stls } from './commands/stls.ts';
import { top } from './commands/top.ts';
import { uidl } from './commands/uidl.ts';
import { user } from './commands/user.ts';
import type { Pop3Session, Pop3State } from './session.ts';

export type Handler<V extends Verb> = (s: Pop3Session, cmd: Extract<Pop3Command, { verb: V }>) => Promise<void>;

export interface CommandSpec<V extends Verb> {
  states: readonly Pop3State[];
  run: Handler<V>;
}

const AUTHZ = ['authorization'] as const;
const TRANS = ['transaction'] as const;
const BOTH = ['authorization', 'transaction'] as const;

export const COMMANDS: { [V in Verb]: CommandSpec<V> } = {
  CAPA: { states: BOTH, run: capa },
  STLS: { states: AUTHZ, run: stls },
  USER: { states: AUTHZ, run: user },
  PASS: { states: AUTHZ, run: pass },
  APOP: { states: AUTHZ, run: apop },
  AUTH: { states: AUTHZ, run: auth },
  QUIT: { states: BOTH, run: quit },
  STAT: { states: TRANS, run: stat },
  LIST: { states: TRANS, run: list },
  RETR: { states: TRANS, run: retr },
  DELE: { states: TRANS, run: dele },
  NOOP: { states: TRANS, run: noop },
  RSET: { states: TRANS, run: rset },
  TOP: { states: TRANS, run: top },
  UIDL: { states: TRANS, run: uidl },
};
