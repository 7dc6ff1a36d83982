// `petrel account 2fa enable|disable|status ADDRESS`: an administrator turns a user's TOTP second factor on
// (printing the secret, its otpauth URI as a terminal QR code, and the recovery codes) or off.
import QRCode from 'qrcode';
import type { App } from '../server/app.ts';
import { type Cli, requireArg, UsageError } from './context.ts';

export async function twoFactorCommand(cli: Cli, app: App): Promise<void> {
  const sub = requireArg(cli, 2, '2fa subcommand (enable|disable|status)');
  const address = requireArg(cli, 3, 'address');
  const acc = await app.directory.findAccount(address);
  if (!acc) throw new UsageError(`no such account: ${address}`);
  const tf = app.oauth.twoFactor;
  if (sub === 'status') {
    const s = await tf.status(acc.id);
    cli.out(
      `${acc.address}\ttwo-factor=${s.enabled ? 'on' : s.pending ? 'pending (awaiting its first code)' : 'off'}` +
        (s.enabled ? `\trecovery-codes-left=${s.recoveryCodesLeft}` : ''),
    );
  } else if (sub === 'enable') {
    if ((await tf.status(acc.id)).enabled)
      throw new UsageError(`two-factor authentication is already on for ${acc.address} (disable it first)`);
    const e = await tf.enableNow(acc.id, acc.address);
    // Printed to the admin's terminal only (never logged): hand them to the user over a safe channel.
    cli.out(`two-factor authentication is on for ${acc.address}`);
    cli.out(`secret: ${e.secret}`);
    cli.out(`uri: ${e.uri}`);
    cli.out(await QRCode.toString(e.uri, { type: 'utf8', errorCorrectionLevel: 'M' }));
    cli.out('recovery codes (each works once; shown only now):');
    for (const c of e.recoveryCodes) cli.out(`  ${c}`);
  } else if (sub === 'disable') {
    await tf.disable(acc.id);
    cli.out(`two-factor authentication is off for ${acc.address}`);
  } else throw new UsageError(`unknown 2fa subcommand: ${sub}`);
}
