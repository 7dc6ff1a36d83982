// Starting a POP3 listener: port 110 with STLS or 995 with implicit TLS (RFC 8314), with the [pop3] limits.
import type { Listener } from '../net/listener.ts';
import { startListener } from '../net/listener.ts';
import { err } from '../protocol/pop3/response.ts';
import { type Pop3Deps, Pop3Session } from './session.ts';

export async function startPop3(
  deps: Pop3Deps,
  opts: { name: string; host: string; port: number; implicitTls: boolean },
): Promise<Listener> {
  return startListener({
    name: opts.name,
    host: opts.host,
    port: opts.port,
    tls: opts.implicitTls ? deps.tls : undefined,
    maxConnections: deps.config.max_connections,
    maxConnectionsPerIp: deps.config.max_connections_per_ip,
    connectionRatePerIp: deps.connectionRatePerIp,
    log: deps.log,
    onConnection: (socket) => {
      const session = new Pop3Session(socket, deps, opts.name);
      void session.run();
      return session;
    },
    onRefused: (socket) => socket.write(err('Too many connections, try again later', 'SYS/TEMP')),
  });
}
