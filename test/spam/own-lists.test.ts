// A user's own spam settings over the wire: curl signs in to /account and edits the allow and block lists
// and the junk threshold (JSON and the HTML forms a browser posts); mail then arrives by SMTP (nodemailer
// from 127.0.0.42, SPF published in the test's DNS). An allowed, authenticated sender reaches that user's
// INBOX while another user's copy of the same message stays in Junk; a sender the user blocks is refused
// when only that user receives it. IP addresses are refused (the admin's business), the list has a size
// limit, another user sees none of it, the admin's `petrel spam lists` shows the same entries, and removal
// takes effect at once. What the filter refused for a user is listed for them (no copy exists), with an
// "allow this sender" button. A user's own junk threshold decides where their copy goes (between 1 and their
// refusal threshold; a JSON number or a string), an empty one or null goes back to the admin's, and a request
// without the field changes nothing. A domain in spam.user_settings_locked sees its lists and threshold but
// cannot change them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { accountHttp } from '../helpers/account-http.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { mailbox, message, send, startSpamWorld, USER } from './fixture.ts';

const curl = peer('curl', 'curl');
const BOB = 'bob@example.com';
let f: OutboundFixture;
let dir: string;

before(async () => {
  f = await startSpamWorld({
    zones: {
      'partner.test': { TXT: [['v=spf1 ip4:127.0.0.42 -all']] },
      'spammer.test': { TXT: [['v=spf1 ip4:127.0.0.42 -all']] },
    },
    configure(c) {
      // Every message lands in Junk unless an allow entry lowers its score: what the user's entry must do.
      c.spam.junk_score = -10;
      c.spam.lists.user_max_entries = 3;
      c.listeners.http.enabled = true;
      c.spam.user_settings_locked = ['school.test', 'Grundschüle.TEST', 'pupil@xn--lyce-dpa.test'];
    },
  });
  await f.app.directory.addAccount(BOB, 'bob-secret-pw');
  dir = mkdtempSync(join(tmpdir(), 'petrel-own-lists-'));
});

after(async () => {
  await f?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const http = accountHttp(
  curl.path ?? 'curl',
  () => f.server.ports.http,
  () => dir,
);

const json = (r: { body: string }) => JSON.parse(r.body);
const subjects = async (who: string, box: string) =>
  (await mailbox(f, who, box)).map((m) => /^Subject: (.*)\r\n/m.exec(m)![1]);
const fromPartner = (subject: string, to = [USER]) =>
  send(f, {
    ip: '127.0.0.42',
    helo: 'mail.partner.test',
    from: 'friend@partner.test',
    to,
    raw: message('friend@partner.test', subject),
  });

test('a user allows and blocks senders for their own mail only', { skip: curl.skip, timeout: 120000 }, async () => {
  assert.equal((await http('alice', '/account/spam')).status, 401, 'a session is needed');
  const login = await http('alice', '/account/login', { json: { username: USER, password: 'secret-pw' } });
  assert.equal(login.status, 200, login.body);
  assert.deepEqual(json(await http('alice', '/account/spam')), {
    allow: [],
    block: [],
    max: 3,
    junkScore: { own: null, default: -10, reject: 15 },
    refused: [],
    junk: [],
    inbox: [],
  });

  // Before: the partner's mail goes to Junk for both.
  assert.ok((await fromPartner('before', [USER, BOB])).ok);
  assert.deepEqual(await subjects(USER, 'Junk'), ['before']);

  let r = await http('alice', '/account/spam/allow', { json: { entry: 'Friend@Partner.TEST' } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(json(r), { entry: 'friend@partner.test', added: true });
  r = await http('alice', '/account/spam/allow', { json: { entry: 'friend@partner.test' } });
  assert.deepEqual(json(r), { entry: 'friend@partner.test', added: false });
  r = await http('alice', '/account/spam/allow', { json: { entry: '127.0.0.42' } });
  assert.equal(r.status, 400);
  assert.match(json(r).error, /IP addresses and networks are for the administrator/);
  r = await http('alice', '/account/spam/block', { json: { entry: 'not an address' } });
  assert.equal(r.status, 400);
  assert.equal(json(await http('alice', '/account/spam/block', { json: { entry: 'spammer.test' } })).added, true);

  // The allowed, SPF-authenticated sender reaches alice's INBOX; bob's copy of the same message does not.
  assert.ok((await fromPartner('after allow', [USER, BOB])).ok);
  assert.deepEqual(await subjects(USER, 'INBOX'), ['after allow']);
  assert.deepEqual(await subjects(BOB, 'Junk'), ['before', 'after allow']);
  // The blocked sender, to alice alone: refused.
  const blocked = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.spammer.test',
    from: 'x@spammer.test',
    raw: message('x@spammer.test', 'blocked'),
  });
  assert.equal(blocked.code, 550, blocked.response);
  // The reply names the reason that refused it, not the score the message had without the block.
  assert.match(blocked.response, /Sender refused by local policy \(spammer\.test\)/);
  // No copy exists, but alice can see it was refused for her, and why, and allow the sender from there.
  const [refused, ...more] = json(await http('alice', '/account/spam')).refused;
  assert.deepEqual(more, []);
  assert.equal(refused.from, 'x@spammer.test');
  assert.ok(refused.reasons.includes('BLOCKLISTED'), refused.reasons.join(' '));
  assert.ok(refused.score >= 15 && Math.abs(Date.now() - refused.at) < 60_000);
  assert.match(
    (await http('alice', '/account/spam', { html: true })).body,
    /<h2>Refused for you<\/h2>.*<td>x@spammer\.test<\/td>.*BLOCKLISTED.*action="\/account\/spam\/allow"><input type="hidden" name="entry" value="x@spammer\.test"><button>Allow this sender/s,
  );

  // The admin sees what alice sees was refused for her.
  const verdicts = await run(
    process.execPath,
    [resolve('bin/petrel.js'), 'spam', 'verdicts', '--account', USER, '--refused'],
    { env: { ...process.env, PETREL_SERVER_DATA_DIR: f.app.config.server.data_dir } },
  );
  assert.equal(verdicts.status, 0, verdicts.stderr);
  assert.match(verdicts.stdout, /^\S+\treject\t\d+(\.\d+)?\t127\.0\.0\.42\t<x@spammer\.test>\t\t.*BLOCKLISTED/m);
  assert.equal(verdicts.stdout.trim().split('\n').length, 1);

  // The admin sees the same list.
  const lists = await run(process.execPath, [resolve('bin/petrel.js'), 'spam', 'lists', '--account', USER], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: f.app.config.server.data_dir },
  });
  assert.equal(lists.status, 0, lists.stderr);
  assert.match(lists.stdout, /^allow\tfriend@partner\.test\talice@example\.com\t\S+\tadded by the user$/m);
  assert.match(lists.stdout, /^block\tspammer\.test\talice@example\.com\t/m);

  // Another user sees none of it, and their entries do not touch alice's.
  assert.equal(
    (await http('bob', '/account/login', { json: { username: BOB, password: 'bob-secret-pw' } })).status,
    200,
  );
  const bobs = json(await http('bob', '/account/spam'));
  assert.deepEqual([bobs.allow, bobs.block, bobs.refused], [[], [], []]);
  assert.equal(
    (await http('bob', '/account/spam/allow/remove', { json: { entry: 'friend@partner.test' } })).status,
    404,
  );

  // The limit: three entries in all.
  assert.equal(json(await http('alice', '/account/spam/block', { json: { entry: 'junk.example' } })).added, true);
  r = await http('alice', '/account/spam/block', { json: { entry: 'more.example' } });
  assert.equal(r.status, 409);
  assert.match(json(r).error, /full \(3 entries\)/);

  // Removed: the partner's mail is back in Junk at once.
  r = await http('alice', '/account/spam/allow/remove', { json: { entry: 'friend@partner.test' } });
  assert.deepEqual(json(r), { entry: 'friend@partner.test', removed: true });
  assert.equal(
    (await http('alice', '/account/spam/allow/remove', { json: { entry: 'friend@partner.test' } })).status,
    404,
  );
  assert.ok((await fromPartner('after removal')).ok);
  assert.deepEqual(await subjects(USER, 'Junk'), ['before', 'after removal']);
});

test('the HTML pages: forms post, redirect back, and list the entries', {
  skip: curl.skip,
  timeout: 180_000,
}, async () => {
  assert.equal(
    (await http('browser', '/account/login', { json: { username: BOB, password: 'bob-secret-pw' } })).status,
    200,
  );
  const add = await http('browser', '/account/spam/block', { form: { entry: 'Shop.Example' }, html: true });
  assert.equal(add.status, 303, add.body);
  assert.match(add.location, /\/account\/spam$/);
  const page = await http('browser', '/account/spam', { html: true });
  assert.equal(page.status, 200);
  assert.match(page.body, /<h2>Blocked<\/h2>.*name="entry" value="shop\.example"><button>Remove shop\.example/s);
  const bad = await http('browser', '/account/spam/allow', { form: { entry: '10.0.0.0/8' }, html: true });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /class="err" role="alert">IP addresses and networks/);
  const gone = await http('browser', '/account/spam/block/remove', { form: { entry: 'shop.example' }, html: true });
  assert.equal(gone.status, 303);
  assert.doesNotMatch((await http('browser', '/account/spam', { html: true })).body, /shop\.example/);
  assert.match((await http('browser', '/account', { html: true })).body, /href="\/account\/spam"/);
});

test("a user's own junk threshold decides where their copy goes", { skip: curl.skip, timeout: 180_000 }, async () => {
  assert.equal(
    (await http('alice2', '/account/login', { json: { username: USER, password: 'secret-pw' } })).status,
    200,
  );
  for (const bad of ['abc', '0.5', '16', '1e3'])
    assert.equal((await http('alice2', '/account/spam/junk-score', { json: { score: bad } })).status, 400, bad);
  // A JSON number, as GET /account/spam shows the threshold, is taken as a number.
  let r = await http('alice2', '/account/spam/junk-score', { json: { score: 7 } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(json(r), { junkScore: 7 });
  assert.equal((await http('alice2', '/account/spam/junk-score', { json: { score: 99 } })).status, 400);
  r = await http('alice2', '/account/spam/junk-score', { json: { score: '12.04' } });
  assert.deepEqual(json(r), { junkScore: 12 });
  assert.deepEqual(json(await http('alice2', '/account/spam')).junkScore, { own: 12, default: -10, reject: 15 });
  // A request without "score" is refused and leaves the user's own threshold alone (only "" or null clears it).
  for (const body of [{}, { junkScore: '6' }, { score: true }]) {
    r = await http('alice2', '/account/spam/junk-score', { json: body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
  }
  assert.equal(json(await http('alice2', '/account/spam')).junkScore.own, 12);

  // The admin's threshold (-10) sends everything to Junk; alice's own (12) keeps this in her INBOX.
  assert.ok((await fromPartner('own threshold', [USER, BOB])).ok);
  const inbox = await mailbox(f, USER, 'INBOX');
  const mine = inbox.find((m) => m.includes('Subject: own threshold'));
  assert.ok(mine, "in alice's INBOX");
  assert.match(mine, /X-Spam-Status: No, score=[-\d.]+ required=12/);
  assert.ok((await subjects(BOB, 'Junk')).includes('own threshold'), "bob's copy follows the admin's threshold");

  // `petrel spam check --account` decides as the server does for that account's copy.
  const config = join(dir, 'petrel.toml');
  const eml = join(dir, 'partner.eml');
  writeFileSync(
    config,
    `[server]\ndata_dir = ${JSON.stringify(f.app.config.server.data_dir)}\n[spam]\njunk_score = -10\n`,
  );
  writeFileSync(eml, message('friend@partner.test', 'checked'));
  const check = async (...extra: string[]) => {
    const out = await run(
      process.execPath,
      [resolve('bin/petrel.js'), '--config', config, 'spam', 'check', ...extra, eml],
      {
        timeoutMs: 30000,
      },
    );
    assert.equal(out.status, 0, out.stderr);
    return JSON.parse(out.stdout).verdict;
  };
  assert.equal(await check(), 'spam');
  assert.equal(await check('--account', USER), 'ham');

  // The admin sees and sets the same settings for a user (`petrel spam settings`), within the same limits.
  const settings = (...extra: string[]) =>
    run(process.execPath, [resolve('bin/petrel.js'), '--config', config, 'spam', 'settings', USER, ...extra], {
      timeoutMs: 30000,
    });
  let shown = await settings();
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^junk threshold: 12 \(own; the server's is -10; refused at 15\)$/m);
  assert.match(shown.stdout, /^daily Junk report: daily \(turned off on this server: kept, not used\)$/m);
  shown = await settings('--junk-score', '20');
  assert.equal(shown.status, 2);
  assert.match(shown.stderr, /the junk threshold is a number from 1 to 15/);
  shown = await settings('--junk-score', '11', '--junk-report', 'never');
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^daily Junk report: never/m);
  assert.equal(json(await http('alice2', '/account/spam')).junkScore.own, 11);

  // Back to the admin's: JSON null, or an empty value (from the HTML form).
  r = await http('alice2', '/account/spam/junk-score', { json: { score: null } });
  assert.deepEqual(json(r), { junkScore: null });
  assert.equal((await http('alice2', '/account/spam/junk-score', { json: { score: '9' } })).status, 200);
  r = await http('alice2', '/account/spam/junk-score', { form: { score: '' }, html: true });
  assert.equal(r.status, 303);
  assert.equal(json(await http('alice2', '/account/spam')).junkScore.own, null);
  assert.ok((await fromPartner('admin threshold again')).ok);
  assert.ok((await subjects(USER, 'Junk')).includes('admin threshold again'));
});

test("spam.user_settings_locked: a locked domain's users see their lists and threshold but cannot change them", {
  skip: curl.skip,
  timeout: 180_000,
}, async () => {
  await f.app.directory.addDomain('school.test');
  const kid = await f.app.directory.addAccount('kid@school.test', 'kid-secret-pw');
  // What the admin set for them (`petrel spam block add --account`) is theirs to see.
  await f.app.store.spam.addListEntry({
    kind: 'block',
    accountId: kid.id,
    domainId: null,
    entry: 'games.example',
    note: 'by the admin',
    createdAt: Date.now(),
  });
  assert.equal(
    (await http('kid', '/account/login', { json: { username: 'kid@school.test', password: 'kid-secret-pw' } })).status,
    200,
  );
  const shown = json(await http('kid', '/account/spam'));
  assert.equal(shown.locked, true);
  assert.deepEqual(
    shown.block.map((e: { entry: string }) => e.entry),
    ['games.example'],
  );
  for (const [path, body] of [
    ['/account/spam/allow', { entry: 'friend@partner.test' }],
    ['/account/spam/block/remove', { entry: 'games.example' }],
    ['/account/spam/junk-score', { score: '3' }],
  ] as const) {
    const r = await http('kid', path, { json: body });
    assert.equal(r.status, 409, `${path}: ${r.body}`);
    assert.match(json(r).error, /the administrator manages these settings for school\.test/);
  }
  assert.deepEqual(
    (await f.app.store.spam.listEntries(kid.id)).map((e) => e.entry),
    ['games.example'],
    'nothing changed',
  );
  const page = (await http('kid', '/account/spam', { html: true })).body;
  assert.match(page, /Your administrator manages your allow and block lists/);
  assert.doesNotMatch(page, /action="\/account\/spam\/(allow|block|junk-score)/);
  // Users elsewhere are not locked.
  assert.equal(json(await http('alice', '/account/spam')).locked, undefined);
});

test('spam.user_settings_locked written with U-labels locks the accounts, kept under A-labels', {
  skip: curl.skip,
  timeout: 120_000,
}, async () => {
  // Accounts are kept with the domain's A-label (xn--grundschle-xhb.test); the admin wrote the U-label.
  await f.app.directory.addDomain('grundschüle.test');
  await f.app.directory.addAccount('kid@grundschüle.test', 'kid-secret-pw');
  await f.app.directory.addDomain('lycée.test');
  await f.app.directory.addAccount('pupil@lycée.test', 'pupil-secret-pw');
  for (const [who, username, password] of [
    ['kid2', 'kid@grundschüle.test', 'kid-secret-pw'],
    ['pupil', 'pupil@xn--lyce-dpa.test', 'pupil-secret-pw'],
  ]) {
    const li = await http(who, '/account/login', { json: { username, password } });
    assert.equal(li.status, 200, `${username}: ${li.body}`);
    assert.equal(json(await http(who, '/account/spam')).locked, true, username);
    const r = await http(who, '/account/spam/allow', { json: { entry: 'friend@partner.test' } });
    assert.equal(r.status, 409, `${username}: ${r.body}`);
  }
});

test('a form posted from another site of the same domain changes nothing (the cookie is SameSite, not same-origin)', {
  skip: curl.skip,
  timeout: 120_000,
}, async () => {
  assert.equal(
    (await http('victim', '/account/login', { json: { username: BOB, password: 'bob-secret-pw' } })).status,
    200,
  );
  // A page on pages.example.com is the same site as mail.example.com (RFC 6265bis section 5.2): a browser
  // sends the SameSite=Strict cookie with its form, and says where the form came from in Sec-Fetch-Site.
  for (const site of ['same-site', 'cross-site']) {
    const r = await http('victim', '/account/spam/allow', {
      form: { entry: 'attacker.example' },
      html: true,
      headers: { 'Sec-Fetch-Site': site, Origin: 'https://pages.example.com' },
    });
    assert.equal(r.status, 403, `${site}: ${r.body}`);
  }
  // A browser older than Fetch Metadata (Safari before 16.4) sends only Origin: compared with the Host it
  // addressed. "null" is what a sandboxed frame or a cross-origin redirect sends.
  for (const origin of ['https://pages.example.com', 'null', `http://127.0.0.1:${f.server.ports.http + 1}`]) {
    const r = await http('victim', '/account/spam/allow', {
      form: { entry: 'attacker.example' },
      html: true,
      headers: { Origin: origin },
    });
    assert.equal(r.status, 403, `${origin}: ${r.body}`);
  }
  assert.deepEqual(json(await http('victim', '/account/spam')).allow, []);
  const older = await http('victim', '/account/spam/allow', {
    form: { entry: 'older.example' },
    html: true,
    headers: { Origin: `http://127.0.0.1:${f.server.ports.http}` },
  });
  assert.equal(older.status, 303, older.body);
  // Behind a reverse proxy the browser addressed the proxy's host, which the proxy passes on.
  const proxied = await http('victim', '/account/spam/allow/remove', {
    form: { entry: 'older.example' },
    html: true,
    headers: { Origin: 'https://mail.example.com', 'X-Forwarded-Host': 'mail.example.com' },
  });
  assert.equal(proxied.status, 303, proxied.body);
  assert.deepEqual(json(await http('victim', '/account/spam')).allow, []);
  // The user's own pages (same-origin), and clients that are no browser (no Sec-Fetch-Site), still post.
  const own = await http('victim', '/account/spam/allow', {
    form: { entry: 'friend.example' },
    html: true,
    headers: { 'Sec-Fetch-Site': 'same-origin' },
  });
  assert.equal(own.status, 303, own.body);
  assert.equal((await http('victim', '/account/spam/allow/remove', { json: { entry: 'friend.example' } })).status, 200);
});

test('an entry kept in an older spelling is removed by the spelling the page shows', {
  skip: curl.skip,
  timeout: 60_000,
}, async () => {
  const bob = (await f.app.store.getAccount(BOB))!;
  await f.app.store.spam.addListEntry({
    kind: 'allow',
    accountId: bob.id,
    domainId: null,
    entry: '*@old.example',
    note: 'added by the user',
    createdAt: 1,
  });
  assert.equal(
    (await http('old', '/account/login', { json: { username: BOB, password: 'bob-secret-pw' } })).status,
    200,
  );
  const r = await http('old', '/account/spam/allow/remove', { json: { entry: '*@old.example' } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(json(r), { entry: '*@old.example', removed: true });
  assert.deepEqual(await f.app.store.spam.listEntries(bob.id), []);
});
