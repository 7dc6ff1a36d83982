// `petrel app-password add|list|revoke`: per-device passwords for IMAP, SMTP and POP3 (shown once).
import { type Cli, flag, requireArg, UsageError } from './context.ts';

export async function appPasswordCommand(cli: Cli): Promise<void> {
  const sub = requireArg(cli, 1, 'app-password subcommand (add|list|revoke)');
  const app = await cli.open();
  try {
    if (sub === 'add') {
      const address = requireArg(cli, 2, 'address');
      const name = flag(cli, 'name');
      if (!name) throw new UsageError('add needs --name (e.g. "Alice\'s phone")');
      const protocols = flag(cli, 'protocols')
        ?.split(',')
        .map((p) => p.trim().toLowerCase())
        .filter(Boolean);
      const r = await app.auth.createAppPassword(address, name, protocols ?? null);
      cli.out(`app password ${r.id} for ${address.toLowerCase()}: ${r.password}`);
      cli.out('It is shown only now. Use it instead of the account password in the mail app.');
    } else if (sub === 'list') {
      const address = requireArg(cli, 2, 'address');
      for (const p of await app.auth.listAppPasswords(address))
        cli.out(
          `${p.id}\t${p.name}\t${p.protocols?.join(',') ?? 'all'}\tcreated=${new Date(p.createdAt).toISOString()}\tlast-used=${p.lastUsedAt ? new Date(p.lastUsedAt).toISOString() : 'never'}`,
        );
    } else if (sub === 'revoke') {
      const address = requireArg(cli, 2, 'address');
      const id = Number(requireArg(cli, 3, 'app password id'));
      if (!Number.isInteger(id)) throw new UsageError('the id is a number (see app-password list)');
      await app.auth.revokeAppPassword(address, id);
      cli.out('app password revoked');
    } else throw new UsageError(`unknown app-password subcommand: ${sub}`);
  } finally {
    await app.close();
  }
}
