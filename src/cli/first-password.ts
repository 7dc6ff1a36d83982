// Giving the first administrator's generated password once: on a terminal printed, else (a service manager's
// journal, a container log) written to <data_dir>/admin-password, readable by this user only.
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyPassword } from '../auth/password.ts';

export const PASSWORD_FILE = 'admin-password';

export interface FirstAdmin {
  address: string;
  password: string;
}

/**
 * Tells whoever started Petrel the first password, once, and never into the logs. stderr on a terminal is
 * read and gone; anywhere else it is kept (systemd's journal, readable by the adm group, for months), so
 * there the password goes to a 0600 file (as Jenkins' initialAdminPassword) and stderr names the file.
 * `configFile`, when the server was started with one, is named in the commands suggested.
 */
export function giveFirstPassword(created: FirstAdmin, domain: string, dataDir: string, configFile?: string): void {
  const config = configFile ? ` --config ${configFile}` : '';
  const onTerminal = process.stderr.isTTY === true;
  const where = onTerminal
    ? `Password (shown only now): ${created.password}`
    : `Password: in ${writePasswordFile(dataDir, created.password)} (readable by this user only; removed when the password is changed)`;
  process.stderr.write(
    `\n  First start: created domain ${domain} and administrator ${created.address}\n` +
      `  ${where}\n` +
      `  Change it with: npx petrel account passwd ${created.address}${config}   (asks for the new one)\n` +
      `  DNS records to publish: npx petrel domain records ${domain}${config}\n\n`,
  );
}

/** Writes the password file (mode 0600 from its creation: a temporary name, then renamed); returns its path. */
function writePasswordFile(dataDir: string, password: string): string {
  const path = join(dataDir, PASSWORD_FILE);
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${password}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
  return path;
}

/**
 * After an account's password was changed: removes the password file when it held that account's previous
 * password (`oldHash`), which is no longer good. Any other account's change leaves it.
 */
export async function forgetFirstPassword(dataDir: string, oldHash: string | null): Promise<boolean> {
  const path = join(dataDir, PASSWORD_FILE);
  let kept: string;
  try {
    kept = readFileSync(path, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (!oldHash || !(await verifyPassword(oldHash, kept))) return false;
  unlinkSync(path);
  return true;
}
