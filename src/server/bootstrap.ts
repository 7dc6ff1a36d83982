// First start: when the store holds no domain, create the first domain and an administrator.
import { randomBytes } from 'node:crypto';
import { isPetrelError } from '../core/errors.ts';
import type { App } from './app.ts';

/** Returns the generated admin credentials when it created them (print once), else null. */
export async function bootstrap(app: App): Promise<{ address: string; password: string } | null> {
  if ((await app.store.listDomains()).length > 0) return null;
  const { domain, admin } = app.config.bootstrap;
  try {
    await app.directory.addDomain(domain);
  } catch (e) {
    // Another node starting on the same store at the same moment made it (replicas start together): that
    // node bootstraps, this one starts as on any later start.
    if (isPetrelError(e, 'ALREADY_EXISTS')) return null;
    throw e;
  }
  if (app.config.dkim.sign)
    await app.dkim.ensure(domain, { algorithm: app.config.dkim.algorithm, selector: app.config.dkim.selector });
  const password = randomBytes(12).toString('base64url');
  const acc = await app.directory.addAccount(`${admin}@${domain}`, password, { role: 'admin' });
  return { address: acc.address, password };
}
