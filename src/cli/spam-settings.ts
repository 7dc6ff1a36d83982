// `petrel spam settings ADDRESS [--junk-score N|default] [--junk-report daily|never|default]`: what a user
// chose at /account/spam (their junk threshold, the daily Junk report, their lists), shown, or set for
// them by the admin (a user who cannot sign in to the web pages), with the same limits the pages apply.
import type { App } from '../server/app.ts';
import { thresholdsLookup } from '../spam/inbound.ts';
import { AccountSpamSettings, SettingError } from '../spam/user-settings.ts';
import { type Cli, flag, requireArg, UsageError } from './context.ts';

export async function settingsCommand(cli: Cli, app: App): Promise<void> {
  const address = requireArg(cli, 2, 'ADDRESS');
  const account = await app.directory.requireAccount(address);
  const spam = app.config.spam;
  // The admin may set what the server does not use now (a setting turned off): it is kept for later.
  const settings = new AccountSpamSettings(app.store, {
    maxEntries: spam.lists.user_max_entries,
    thresholds: thresholdsLookup(spam),
    junkReport: true,
  });
  const score = flag(cli, 'junk-score');
  const report = flag(cli, 'junk-report');
  try {
    if (score !== undefined) await settings.setJunkScore(account, score === 'default' ? '' : score);
    if (report !== undefined)
      if (report === 'default') await app.store.spam.setUserJunkReport(account.id, null, Date.now());
      else await settings.setJunkReport(account.id, report);
  } catch (e) {
    if (e instanceof SettingError) throw new UsageError(e.message);
    throw e;
  }
  const s = await settings.show(account);
  const t = s.junkScore!;
  const off = (on: boolean) => (on ? '' : ' (turned off on this server: kept, not used)');
  cli.out(
    `junk threshold: ${t.own ?? t.default} (${t.own === null ? "the server's" : `own; the server's is ${t.default}`}; refused at ${t.reject})${off(spam.user_junk_score)}`,
  );
  cli.out(`daily Junk report: ${s.junkReport}${off(spam.junk_report.enabled)}`);
  cli.out(
    `lists: ${s.allow.length} allowed, ${s.block.length} blocked (petrel spam lists --account ${account.address})`,
  );
}
