// `petrel serve` (what `npm start` runs): open the app, bootstrap on first start, listen, stop on signals.
import { bootstrap } from '../server/bootstrap.ts';
import { serve } from '../server/serve.ts';
import { createLogger } from '../telemetry/log.ts';
import type { Cli } from './context.ts';

export async function serveCommand(cli: Cli): Promise<void> {
  const config = cli.config();
  const log = createLogger({ level: config.log.level });
  const app = await cli.open(log);
  const created = await bootstrap(app);
  if (created) {
    // Printed once, to the terminal, never into the logs.
    process.stderr.write(
      `\n  First start: created domain ${config.bootstrap.domain} and administrator ${created.address}\n` +
        `  Password (shown only now): ${created.password}\n` +
        `  Change it with: npx petrel account passwd ${created.address} --password NEW\n` +
        `  DNS records to publish (DKIM included): npx petrel dkim show ${config.bootstrap.domain}\n\n`,
    );
  }
  const running = await serve(app);
  log.info({ ports: running.ports, dataDir: app.dataDir, backend: config.store.backend }, 'petrel started');
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
  log.info('stopped');
  log.flush();
}
