// `petrel serve` (what `npm start` runs): open the app, bootstrap on first start, listen, stop on signals.
import { ConfigError, unknownEnv } from '../config/load.ts';
import { configProblems } from '../server/config-check.ts';
import { serve } from '../server/serve.ts';
import { createLogger } from '../telemetry/log.ts';
import type { Cli } from './context.ts';

export async function serveCommand(cli: Cli): Promise<void> {
  const config = cli.config();
  // What `petrel config check` finds stops the start before anything opens, each problem with its key.
  const problems = configProblems(config);
  if (problems.length) throw new ConfigError(problems.join('\n'));
  const log = createLogger({ level: config.log.level });
  for (const problem of unknownEnv(process.env)) log.warn(`${problem}; ignored`);
  const app = await cli.open(log, { bootstrap: true });
  let running: Awaited<ReturnType<typeof serve>>;
  try {
    running = await serve(app);
  } catch (e) {
    // serve() has stopped what it started; with the store closed too nothing keeps the process alive.
    await app.close();
    throw e;
  }
  log.info({ ports: running.ports, dataDir: app.dataDir, backend: config.store.backend }, 'petrel started');
  // SIGHUP re-reads certificates (renewed files, new [[tls.certificates]] files): new connections get
  // them, open ones keep theirs. A broken file is logged and the old certificates stay.
  const onHup = () =>
    app.reloadTls().then(
      () => log.info('TLS certificates reloaded'),
      (e) => log.error({ err: e }, 'TLS reload failed; still serving the previous certificates'),
    );
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolveStop) => {
    let signalled = false;
    const stop = (sig: string) => {
      if (signalled) {
        log.warn('second signal: exiting now');
        process.exit(1);
      }
      signalled = true;
      log.info({ signal: sig }, 'shutting down');
      running.stop().then(
        () => resolveStop(),
        (e) => {
          log.error({ err: e }, 'shutdown failed');
          resolveStop();
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  process.off('SIGHUP', onHup);
  log.info('stopped');
  log.flush();
}
