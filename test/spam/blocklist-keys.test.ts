// Blocklist zones queried under an access key (Spamhaus DQS "<key>.zen.dq.spamhaus.net", Abusix): the key
// is a secret, so neither the symbols (X-Spam-Status in the user's mailbox), nor the stored verdict's
// details, nor the log name it; the zone is shown without it. Over SMTP into the MX listener, against the
// test's own DNS server: a DNSBL listing and a refusal, a URIBL listing and an EBL listing, all keyed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { captureLog } from '../helpers/log-capture.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { mailbox, message, newestVerdict, send, startSpamWorld, USER } from './fixture.ts';

const KEY = 'k3y0f26characterslowercase';
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

let f: OutboundFixture;
const log = captureLog<{ msg: string }>();
before(async () => {
  f = await startSpamWorld({
    logTo: log.stream,
    zones: {
      [`71.0.0.127.${KEY}.zen.dq.test`]: { A: ['127.0.0.4'] },
      [`71.0.0.127.${KEY}.refuse.dq.test`]: { A: ['127.255.255.254'] },
      [`listed.example.${KEY}.dbl.dq.test`]: { A: ['127.0.1.2'] },
      [`${sha1('dropbox@listed.example')}.${KEY}.ebl.dq.test`]: { A: ['127.0.0.2'] },
    },
    configure(c) {
      c.spam.dnsbl.zones = [`${KEY}.zen.dq.test`, `${KEY}.refuse.dq.test`];
      c.spam.uribl.zones = [`${KEY}.dbl.dq.test`];
      c.spam.ebl.zones = [`${KEY}.ebl.dq.test`];
    },
  });
});
after(() => f?.stop());

test('a zone queried under an access key: listed and refused, shown without the key everywhere', async () => {
  const raw = message(
    'a@sender.test',
    'keyed',
    '',
    'See http://listed.example/offer and write to dropbox@listed.example today.\r\n',
  );
  const r = await send(f, { ip: '127.0.0.71', helo: 'mail.sender.test', from: 'a@sender.test', raw });
  assert.ok(r.ok, r.response);
  const { box, symbols } = await newestVerdict(f, USER);
  // The lookups happened under the key, and were understood.
  assert.equal(symbols.RBL_ZEN_DQ_TEST, 3, JSON.stringify(symbols));
  assert.equal(symbols.RBL_REFUSE_DQ_TEST_BLOCKED, 0, JSON.stringify(symbols));
  assert.ok((symbols.URIBL_DBL_DQ_TEST ?? 0) > 0, JSON.stringify(symbols));
  assert.ok((symbols.EBL_EBL_DQ_TEST ?? 0) > 0, JSON.stringify(symbols));
  const stored = (await mailbox(f, USER, box)).at(-1)!;
  assert.doesNotMatch(stored, new RegExp(KEY, 'i'), 'the stored message (X-Spam-Status)');
  const acc = await f.app.store.getAccount(USER);
  const verdictText = JSON.stringify(await f.app.store.spam.recentVerdicts(acc!.id, 10));
  assert.match(verdictText, /zen\.dq\.test/, 'the details name the zone');
  assert.doesNotMatch(verdictText, new RegExp(KEY, 'i'), 'the stored verdicts');
  assert.doesNotMatch(JSON.stringify(log.lines), new RegExp(KEY, 'i'), 'the log');
  assert.ok(
    log.lines.some((l) => /^blocklist: /.test(l.msg)),
    'the refusal was logged, without the key',
  );
});
