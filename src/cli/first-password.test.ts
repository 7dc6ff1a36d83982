// forgetFirstPassword: the password file goes only with the password it holds.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword } from '../auth/password.ts';
import { forgetFirstPassword, PASSWORD_FILE } from './first-password.ts';

test('removes the file only when it held the changed account’s old password', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-first-pw-'));
  try {
    const file = join(dir, PASSWORD_FILE);
    assert.equal(await forgetFirstPassword(dir, await hashPassword('x')), false, 'no file: nothing to do');
    writeFileSync(file, 'first-pw\n', { mode: 0o600 });
    assert.equal(await forgetFirstPassword(dir, await hashPassword('other')), false);
    assert.equal(await forgetFirstPassword(dir, null), false, 'an account without a password');
    assert.ok(existsSync(file));
    assert.equal(await forgetFirstPassword(dir, await hashPassword('first-pw')), true);
    assert.ok(!existsSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
