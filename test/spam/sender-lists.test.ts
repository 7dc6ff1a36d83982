// Allow and block lists over the wire: entries are added with the `petrel spam` command (a real process on
// the running server's data directory, no restart) and mail arrives by SMTP (nodemailer from 127.0.0.x)
// with SPF/DKIM/DMARC published in the test's DNS. Blocks (domain and subdomains, envelope sender or From,
// IP network) refuse during DATA; an account's own block sends its copy to Junk while the other recipient
// gets it; allow entries lift a sender out of Junk only when it is authenticated (SPF or aligned DKIM), or by
// client IP; a block beats an allow; removing an entry takes effect at once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { OutboundFixture } from '../helpers/outbound.ts';
import {
  mailbox,
  message,
  publishKey,
  send,
  sign,
  startSpamWorld,
  type TestKey,
  USER,
  verdictSymbols,
} from './fixture.ts';

const run = promisify(execFile);
const BOB = 'bob@example.com';
let f: OutboundFixture;
let key: TestKey;

before(async () => {
  f = await startSpamWorld({
    zones: {
      'partner.test': { TXT: [['v=spf1 ip4:127.0.0.42 -all']] },
      '_dmarc.partner.test': { TXT: [['v=DMARC1; p=none']] },
      'spammer.test': { TXT: [['v=spf1 ip4:127.0.0.42 -all']] },
      'other.test': { TXT: [['v=spf1 ip4:127.0.0.42 ip4:127.0.0.44 ip4:127.0.0.45 -all']] },
      'news.test': { TXT: [['v=spf1 ip4:127.0.0.42 -all']] },
    },
    configure(c) {
      // Every message lands in Junk unless something lowers its score a lot: what an allow entry must do.
      c.spam.junk_score = -10;
    },
  });
  key = publishKey(f, 'partner.test', 'k1');
  await f.app.directory.addAccount(BOB, 'bob-secret-pw');
});

after(async () => {
  await f?.stop();
});

/** `petrel spam ...` on the server's data directory, as an admin runs it beside the running server. */
async function petrel(...args: string[]) {
  try {
    const r = await run(process.execPath, [resolve('bin/petrel.js'), 'spam', ...args], {
      env: { ...process.env, PETREL_SERVER_DATA_DIR: f.app.config.server.data_dir },
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

async function ok(...args: string[]) {
  const r = await petrel(...args);
  assert.equal(r.code, 0, r.err);
  return r.out;
}

const subjects = async (who: string, box: string) =>
  (await mailbox(f, who, box)).map((m) => /^Subject: (.*)\r\n/m.exec(m)![1]);

test('block entries refuse during DATA: domain and subdomains, envelope or From, IP network; removal is immediate', async () => {
  assert.match(
    await ok('block', 'add', 'Spammer.TEST', '--note', 'ticket 12'),
    /block spammer\.test for every recipient/,
  );
  assert.match(await ok('block', 'add', '127.0.0.43/32'), /block 127\.0\.0\.43 for every recipient/);
  assert.match(await ok('block', 'add', 'spammer.test'), /already on the block list/);
  const bad = await petrel('block', 'add', '10.0.0.0/33');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /bad prefix length/);
  const lists = await ok('lists');
  assert.match(lists, /^block\tspammer\.test\t\*\t\S+\tticket 12$/m);
  assert.match(lists, /^block\t127\.0\.0\.43\t\*\t/m);

  // The envelope sender at a subdomain.
  let r = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.spammer.test',
    from: 'x@mail.spammer.test',
    raw: message('x@mail.spammer.test', 'envelope'),
  });
  assert.equal(r.code, 550, r.response);
  assert.match(r.response, /^550 5\.7\.1 Sender refused by local policy \(spammer\.test\)/);
  // Only the From header.
  r = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.other.test',
    from: 'ok@other.test',
    raw: message('Boss <boss@spammer.test>', 'from header'),
  });
  assert.equal(r.code, 550, r.response);
  // The client network, whatever the sender.
  r = await send(f, {
    ip: '127.0.0.43',
    helo: 'h.other.test',
    from: 'ok@other.test',
    raw: message('ok@other.test', 'ip'),
  });
  assert.equal(r.code, 550, r.response);
  assert.match(r.response, /\(127\.0\.0\.43\)/);
  assert.deepEqual(await subjects(USER, 'INBOX'), []);
  assert.deepEqual(await subjects(USER, 'Junk'), []);

  // Removed: the same message now arrives.
  assert.match(await ok('block', 'remove', 'spammer.test'), /removed spammer\.test from the block list/);
  assert.equal((await petrel('block', 'remove', 'spammer.test')).code, 2);
  r = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.spammer.test',
    from: 'x@spammer.test',
    raw: message('x@spammer.test', 'after removal'),
  });
  assert.ok(r.ok, r.response);
  assert.deepEqual(await subjects(USER, 'Junk'), ['after removal']);
  await ok('block', 'remove', '127.0.0.43');

  // The stored verdicts, as the admin reads them: the refusals, then alice's delivered copies.
  const refused = await ok('verdicts');
  assert.match(refused, /^\S+\treject\t[\d.]+\t127\.0\.0\.42\t<x@mail\.spammer\.test>\t\t.*BLOCKLISTED=20/m);
  assert.match(refused, /^\S+\treject\t[\d.]+\t127\.0\.0\.43\t<ok@other\.test>\t/m);
  const delivered = (await ok('verdicts', '--account', USER, '--limit', '1')).trim().split('\n');
  assert.equal(delivered.length, 1);
  assert.match(delivered[0], /^\S+\tjunk\t[\d.-]+\t127\.0\.0\.42\t<x@spammer\.test>\tmessage \d+\t/);
  assert.equal((await petrel('verdicts', '--limit', '0')).code, 2);
  // Searching by sender (a domain: addresses at it, not its subdomains) or client IP, delivered or not.
  const bySender = (await ok('verdicts', '--from', 'spammer.test')).trim().split('\n');
  assert.equal(bySender.length, 1, bySender.join('\n'));
  assert.match(bySender[0], /^\S+\tjunk\t[\d.-]+\t127\.0\.0\.42\t<x@spammer\.test>\tmessage \d+ alice@example\.com\t/);
  assert.match(await ok('verdicts', '--from', 'X@Mail.Spammer.TEST'), /^\S+\treject\t.*<x@mail\.spammer\.test>\t\t/m);
  const byIp = (await ok('verdicts', '--ip', '127.0.0.43')).trim().split('\n');
  assert.equal(byIp.length, 1);
  assert.match(byIp[0], /\treject\t.*\t127\.0\.0\.43\t<ok@other\.test>\t/);
  assert.equal((await petrel('verdicts', '--ip', 'nope')).code, 2);
});

test("an account's own block: its copy goes to Junk, the other recipient's to INBOX; alone, refused", async () => {
  assert.match(await ok('block', 'add', 'news.test', '--account', BOB), /block news\.test for bob@example\.com/);
  assert.match(await ok('lists', '--account', BOB), /^block\tnews\.test\tbob@example\.com\t/m);
  // Lift alice's copy out of Junk with an allow entry of her own (authenticated by SPF).
  await ok('allow', 'add', 'news.test', '--account', USER);
  const raw = message('letters@news.test', 'newsletter').replace(`To: ${USER}`, `To: ${USER}, ${BOB}`);
  let r = await send(f, { ip: '127.0.0.42', helo: 'mail.news.test', from: 'letters@news.test', to: [USER, BOB], raw });
  assert.ok(r.ok, r.response);
  assert.deepEqual(await subjects(USER, 'INBOX'), ['newsletter']);
  assert.deepEqual(await subjects(BOB, 'Junk'), ['newsletter']);
  assert.deepEqual(await subjects(BOB, 'INBOX'), []);
  const bob = await verdictSymbols(f, BOB);
  assert.equal(bob.BLOCKLISTED, 20);
  assert.equal(bob.ALLOWLISTED, undefined, "alice's allow entry is not bob's");
  const alice = await verdictSymbols(f, USER);
  assert.equal(alice.ALLOWLISTED, -20);
  assert.equal(alice.BLOCKLISTED, undefined, "bob's block is not alice's");

  // To bob alone: refused.
  r = await send(f, { ip: '127.0.0.42', helo: 'mail.news.test', from: 'letters@news.test', to: [BOB], raw });
  assert.equal(r.code, 550, r.response);
  await ok('allow', 'remove', 'news.test', '--account', USER);
  // An account's entries go with the account.
  const bobId = (await f.app.store.getAccount(BOB))!.id;
  assert.equal((await f.app.store.spam.listEntries(bobId)).length, 1);
  await f.app.directory.removeAccount(BOB);
  assert.equal((await f.app.store.spam.listEntries(bobId)).length, 0);
});

test('allow entries count only for authenticated senders (SPF, aligned DKIM) or by client IP; a block wins', async () => {
  await ok('allow', 'add', 'partner.test');
  await ok('allow', 'add', '127.0.0.45');

  // SPF pass for the envelope sender's domain: allowed, out of Junk.
  let r = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.partner.test',
    from: 'news@partner.test',
    raw: message('news@partner.test', 'spf allowed'),
  });
  assert.ok(r.ok, r.response);
  assert.equal((await subjects(USER, 'INBOX')).at(-1), 'spf allowed');
  assert.equal((await verdictSymbols(f, USER)).ALLOWLISTED, -20);

  // The same From forged from a server SPF does not allow, unsigned: no allow, Junk.
  r = await send(f, {
    ip: '127.0.0.44',
    helo: 'mail.other.test',
    from: 'bounce@other.test',
    raw: message('news@partner.test', 'forged'),
  });
  assert.ok(r.ok, r.response);
  assert.equal((await subjects(USER, 'Junk')).at(-1), 'forged');
  assert.equal((await verdictSymbols(f, USER)).ALLOWLISTED, undefined);

  // Signed by partner.test (aligned with From) though relayed elsewhere: allowed.
  r = await send(f, {
    ip: '127.0.0.44',
    helo: 'mail.other.test',
    from: 'bounce@other.test',
    raw: await sign(message('news@partner.test', 'dkim allowed'), key),
  });
  assert.ok(r.ok, r.response);
  assert.deepEqual((await subjects(USER, 'INBOX')).slice(-2), ['spf allowed', 'dkim allowed']);

  // By client IP, any sender.
  r = await send(f, {
    ip: '127.0.0.45',
    helo: 'h.other.test',
    from: 'x@other.test',
    raw: message('x@other.test', 'by ip'),
  });
  assert.ok(r.ok, r.response);
  assert.equal((await verdictSymbols(f, USER)).ALLOWLISTED, -20);

  // Allowed IP, blocked sender: the block wins.
  await ok('block', 'add', 'x@other.test');
  r = await send(f, {
    ip: '127.0.0.45',
    helo: 'h.other.test',
    from: 'x@other.test',
    raw: message('x@other.test', 'both'),
  });
  assert.equal(r.code, 550, r.response);
});

test('entries in bulk: several arguments, or a file (a Postfix access table reads too); a bad line changes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-lists-'));
  try {
    const good = join(dir, 'access');
    writeFileSync(good, '# from our old Postfix\nbulk1.test   REJECT\n\n10.9.8.0/24 REJECT spam run\nx@bulk2.test\n');
    const out = await ok('block', 'add', 'bulk3.test', '--file', good);
    for (const e of ['bulk3.test', 'bulk1.test', '10.9.8.0/24', 'x@bulk2.test'])
      assert.match(out, new RegExp(`^block ${e.replace(/\./g, '\\.')} for every recipient$`, 'm'));
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'bulk4.test\nnot a domain!\n');
    const r = await petrel('block', 'add', '--file', bad);
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`nothing changed: ${bad.replace(/[.\\/]/g, '\\$&')}:2: not an address`));
    // A file that cannot be read: a usage error naming it, no stack trace.
    for (const [path, why] of [
      [join(dir, 'missing'), 'no such file'],
      [dir, 'a directory'],
    ]) {
      const e = await petrel('block', 'add', '--file', path);
      assert.equal(e.code, 2, e.err);
      assert.match(e.err, new RegExp(`--file ${path.replace(/[.\\/]/g, '\\$&')}: ${why}`));
      assert.doesNotMatch(e.err, /\n\s+at /);
    }
    const lists = await ok('lists');
    assert.doesNotMatch(lists, /bulk4\.test/);
    assert.match(lists, /^block\t10\.9\.8\.0\/24\t\*/m);
    // Removing several at once; one that is not there is named, the others go.
    const rm = await petrel('block', 'remove', 'bulk1.test', 'bulk9.test', 'bulk3.test');
    assert.equal(rm.code, 2);
    assert.match(rm.err, /not on the block list for every recipient: bulk9\.test/);
    assert.doesNotMatch(await ok('lists'), /bulk1\.test|bulk3\.test/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a domain's list applies to that domain's accounts only", async () => {
  await f.app.directory.addDomain('second.test');
  await f.app.directory.addAccount('carl@second.test', 'carl-secret-pw');
  assert.match(
    await ok('block', 'add', 'promo.test', '--domain', 'example.com'),
    /block promo\.test for @example\.com/,
  );
  assert.match(await ok('lists', '--domain', 'example.com'), /^block\tpromo\.test\t@example\.com\t/m);
  assert.equal((await petrel('lists', '--domain', 'nowhere.test')).code, 2);
  assert.equal((await petrel('lists', '--domain', 'example.com', '--account', USER)).code, 2);

  const raw = message('deals@promo.test', 'deal').replace(`To: ${USER}`, `To: ${USER}, carl@second.test`);
  const r = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.promo.test',
    from: 'deals@promo.test',
    to: [USER, 'carl@second.test'],
    raw,
  });
  assert.ok(r.ok, r.response);
  assert.equal((await verdictSymbols(f, USER)).BLOCKLISTED, 20);
  assert.equal((await verdictSymbols(f, 'carl@second.test')).BLOCKLISTED, undefined);
  // To example.com alone: refused.
  const alone = await send(f, { ip: '127.0.0.42', helo: 'mail.promo.test', from: 'deals@promo.test', raw });
  assert.equal(alone.code, 550, alone.response);
  await ok('block', 'remove', 'promo.test', '--domain', 'example.com');
  assert.doesNotMatch(await ok('lists'), /promo\.test/);
  // A domain's entries go with the domain.
  await ok('allow', 'add', 'friends.test', '--domain', 'second.test');
  await f.app.directory.removeAccount('carl@second.test');
  await f.app.directory.removeDomain('second.test');
  assert.doesNotMatch(await ok('lists'), /friends\.test/);
});

test('networks as other tools write them: "127.0.0/24" (ip route), an IPv4-mapped address; junk refused', async () => {
  // "10/8" was kept as the domain 0.0.0.10 (the URL host parser's reading of a number), never matching.
  assert.match(await ok('block', 'add', '127.0.0/24'), /^block 127\.0\.0\.0\/24 for every recipient$/m);
  const r = await send(f, {
    ip: '127.0.0.44',
    helo: 'h.other.test',
    from: 'ok@other.test',
    raw: message('ok@other.test', 'short cidr'),
  });
  assert.equal(r.code, 550, r.response);
  assert.match(r.response, /\(127\.0\.0\.0\/24\)/);
  await ok('block', 'remove', '127.0.0.0/24');
  // An IPv4 client is seen as its IPv4 address: a mapped entry is that address (RFC 4291 section 2.5.5.2).
  assert.match(await ok('block', 'add', '::FFFF:127.0.0.44'), /^block 127\.0\.0\.44 for every recipient$/m);
  const mapped = await send(f, {
    ip: '127.0.0.44',
    helo: 'h.other.test',
    from: 'ok@other.test',
    raw: message('ok@other.test', 'mapped'),
  });
  assert.equal(mapped.code, 550, mapped.response);
  await ok('block', 'remove', '127.0.0.44');
  // Numbers that are no domain, a zone index, host bits: refused, or named in their normal form.
  for (const bad of ['10/8x', '12345', '0x7f.1', '1.2.3.04', 'fe80::1%eth0'])
    assert.equal((await petrel('block', 'add', bad)).code, 2, bad);
  assert.match(await ok('block', 'add', '10.1.2.3/16', '2001:DB8:0:0::1'), /^block 10\.1\.0\.0\/16 for/m);
  assert.match(await ok('lists'), /^block\t2001:db8::1\t/m);
  await ok('block', 'remove', '10.1.0.0/16', '2001:db8::1');
});

test('a block is not escaped by a From domain written with its root dot, a +tag, or a quoted local part', async () => {
  await ok('block', 'add', 'spammer.test', 'boss@partner.test');
  // "spammer.test." is the same domain (RFC 1034 section 3.1: the absolute form); mail clients show it as is.
  for (const from of ['Boss <boss@Spammer.Test.>', 'boss+2@partner.test', '"boss"@partner.test']) {
    const r = await send(f, {
      ip: '127.0.0.42',
      helo: 'mail.other.test',
      from: 'ok@other.test',
      raw: message(from, 'escape'),
    });
    assert.equal(r.code, 550, `${from}: ${r.response}`);
  }
  // The envelope sender's +tag too, as Postfix looks up user+foo@domain, then user@domain (access(5)).
  const r = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.partner.test',
    from: 'boss+x@partner.test',
    raw: message('boss+x@partner.test', 'envelope tag'),
  });
  assert.equal(r.code, 550, r.response);
  await ok('block', 'remove', 'spammer.test', 'boss@partner.test');
});

test("SpamAssassin's *@domain means the domain; other wildcards are refused, not kept as a literal address", async () => {
  // "*@spammer.test" (whitelist_from's form) was kept as the address *@spammer.test, which no sender is.
  assert.match(await ok('block', 'add', '*@Spammer.test'), /^block spammer\.test for every recipient$/m);
  const r = await send(f, {
    ip: '127.0.0.42',
    helo: 'mail.spammer.test',
    from: 'x@spammer.test',
    raw: message('x@spammer.test', 'wildcard'),
  });
  assert.equal(r.code, 550, r.response);
  await ok('block', 'remove', 'spammer.test');
  for (const bad of ['news*@spammer.test', '*', 'spammer.*']) {
    const e = await petrel('block', 'add', bad);
    assert.equal(e.code, 2, bad);
    assert.match(e.err, /wildcard/, bad);
  }
});

test('--domain takes an internationalised domain as its U-label or its A-label', async () => {
  await f.app.directory.addDomain('bücher.test');
  assert.match(
    await ok('block', 'add', 'promo.test', '--domain', 'Bücher.test'),
    /^block promo\.test for @xn--bcher-kva\.test$/m,
  );
  assert.match(await ok('lists', '--domain', 'xn--bcher-kva.test'), /^block\tpromo\.test\t@xn--bcher-kva\.test\t/m);
  assert.match(await ok('block', 'remove', 'promo.test', '--domain', 'bücher.test.'), /^removed promo\.test/m);
  const bad = await petrel('lists', '--domain', 'not a domain');
  assert.equal(bad.code, 2, bad.err);
  assert.doesNotMatch(bad.err, /\n\s+at /);
});

test('an entry kept in an older spelling is removed by the spelling `spam lists` shows', async () => {
  // Kept before entries had one normal form: host bits set, a long IPv6 form.
  for (const entry of ['192.0.2.7/24', '2001:db8:0:0::1'])
    await f.app.store.spam.addListEntry({
      kind: 'block',
      accountId: null,
      domainId: null,
      entry,
      note: '',
      createdAt: 1,
    });
  assert.match(await ok('lists'), /^block\t192\.0\.2\.7\/24\t/m);
  assert.match(await ok('block', 'remove', '192.0.2.7/24', '2001:db8:0:0::1'), /^removed 192\.0\.2\.7\/24 from/m);
  assert.doesNotMatch(await ok('lists'), /192\.0\.2|2001:db8/);
});
