// The command table: name -> states it is allowed in -> handler, and whether untagged EXPUNGE may
// follow it (never after FETCH, STORE, SEARCH by sequence number: RFC 9051 section 7.5.1).
import type { ImapCommand } from '../protocol/imap/types.ts';
import { append } from './commands/append.ts';
import { authenticate } from './commands/authenticate.ts';
import { capability } from './commands/capability.ts';
import { close, unselect } from './commands/close.ts';
import { compress } from './commands/compress.ts';
import { copy, move } from './commands/copy.ts';
import { create } from './commands/create.ts';
import { del } from './commands/delete.ts';
import { enable } from './commands/enable.ts';
import { expunge, uidExpunge } from './commands/expunge.ts';
import { fetch } from './commands/fetch.ts';
import { id } from './commands/id.ts';
import { idle } from './commands/idle.ts';
import { list, lsub } from './commands/list.ts';
import { login } from './commands/login.ts';
import { logout } from './commands/logout.ts';
import { namespace } from './commands/namespace.ts';
import { noop } from './commands/noop.ts';
import { getquota, getquotaroot, setquota } from './commands/quota.ts';
import { rename } from './commands/rename.ts';
import { search } from './commands/search.ts';
import { select } from './commands/select.ts';
import { sort, thread } from './commands/sort.ts';
import { starttls } from './commands/starttls.ts';
import { status } from './commands/status.ts';
import { store } from './commands/store.ts';
import { subscribe, unsubscribe } from './commands/subscribe.ts';
import type { ImapSession } from './session.ts';

export type State = 'notauth' | 'auth' | 'selected' | 'logout';

export interface Reply {
  status: 'OK' | 'NO' | 'BAD' | 'BYE';
  code?: string;
  text: string;
  /** Skip the untagged sync before the tagged reply (STARTTLS, COMPRESS: nothing may come between). */
  noSync?: boolean;
  /** Runs after the tagged reply is on the wire (STARTTLS handshake, COMPRESS stream swap). */
  after?: () => Promise<void>;
}

export type Handler = (s: ImapSession, cmd: ImapCommand) => Promise<Reply | undefined>;

export interface CommandSpec {
  states: readonly State[];
  run: Handler;
  /** Whether EXPUNGE/VANISHED may be sent before this command's tagged reply. */
  expunges: (cmd: ImapCommand) => boolean;
}

const ANY: readonly State[] = ['notauth', 'auth', 'selected'];
const NOTAUTH: readonly State[] = ['notauth'];
const AUTH: readonly State[] = ['auth', 'selected'];
const SELECTED: readonly State[] = ['selected'];
const yes = () => true;
const no = () => false;

function c(states: readonly State[], run: Handler, expunges: (cmd: ImapCommand) => boolean = yes): CommandSpec {
  return { states, run, expunges };
}

export const COMMANDS: Record<string, CommandSpec> = {
  CAPABILITY: c(ANY, capability),
  NOOP: c(ANY, noop),
  LOGOUT: c(ANY, logout),
  ID: c(ANY, id),
  STARTTLS: c(NOTAUTH, starttls),
  AUTHENTICATE: c(NOTAUTH, authenticate),
  LOGIN: c(NOTAUTH, login),
  ENABLE: c(AUTH, enable),
  COMPRESS: c(AUTH, compress),
  SELECT: c(AUTH, select),
  EXAMINE: c(AUTH, select),
  CREATE: c(AUTH, create),
  DELETE: c(AUTH, del),
  RENAME: c(AUTH, rename),
  SUBSCRIBE: c(AUTH, subscribe),
  UNSUBSCRIBE: c(AUTH, unsubscribe),
  LIST: c(AUTH, list),
  LSUB: c(AUTH, lsub),
  NAMESPACE: c(AUTH, namespace),
  STATUS: c(AUTH, status),
  APPEND: c(AUTH, append),
  IDLE: c(AUTH, idle),
  GETQUOTA: c(AUTH, getquota),
  GETQUOTAROOT: c(AUTH, getquotaroot),
  SETQUOTA: c(AUTH, setquota),
  CLOSE: c(SELECTED, close),
  UNSELECT: c(SELECTED, unselect),
  EXPUNGE: c(SELECTED, expunge),
  'UID EXPUNGE': c(SELECTED, uidExpunge),
  SEARCH: c(SELECTED, search, no),
  'UID SEARCH': c(SELECTED, search),
  FETCH: c(SELECTED, fetch, no),
  'UID FETCH': c(SELECTED, fetch),
  STORE: c(SELECTED, store, no),
  'UID STORE': c(SELECTED, store),
  COPY: c(SELECTED, copy),
  'UID COPY': c(SELECTED, copy),
  MOVE: c(SELECTED, move),
  'UID MOVE': c(SELECTED, move),
  SORT: c(SELECTED, sort, no),
  'UID SORT': c(SELECTED, sort),
  THREAD: c(SELECTED, thread, no),
  'UID THREAD': c(SELECTED, thread),
};
