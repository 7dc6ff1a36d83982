// Every SASL mechanism over every mail protocol, with real clients where they exist: SCRAM-SHA-256 with
// an independent implementation (Perl Authen::SCRAM), PLAIN and LOGIN with Python imaplib/smtplib/poplib,
// OAUTHBEARER and XOAUTH2 with curl --oauth2-bearer. Wrong secrets fail with each protocol's reply.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { imapScramSalt, scramClient } from '../helpers/scram.ts';
import { lenientSignIn, startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from './line-client.ts';

const USER = 'alice@localhost';
const PASS = 'correct horse battery';
const TOKEN = 'test-token-0123456789abcdef';
/** As long as the JWTs some identity providers issue (Microsoft's: over 2 KB). */
const LONG_TOKEN = `eyJ0eXAiOiJKV1QifQ.${'x'.repeat(2400)}.sig`;
let t: TestServer;
let aliceId = 0;

const perl = peer('perl', 'perl');
const python = peer('python3', 'python3');
const curl = peer('curl', 'curl');
// Authen::SCRAM (Debian libauthen-scram-perl): an SCRAM implementation that is not ours.
const scramLib = ((): { skip: string | undefined } => {
  if (perl.skip) return perl;
  if (spawnSync('perl', ['-MAuthen::SCRAM::Client', '-e1']).status === 0) return { skip: undefined };
  const reason = 'Authen::SCRAM not installed (apt-get install libauthen-scram-perl)';
  if (process.env.PETREL_TEST_REQUIRE_PEERS === '1') throw new Error(`required peer missing: ${reason}`);
  return { skip: reason };
})();

before(async () => {
  t = await startTestServer({ configure: lenientSignIn });
  await t.app.directory.addDomain('localhost');
  const a = await t.app.directory.addAccount(USER, PASS);
  aliceId = a.id;
  // This file tests the mechanisms' wire formats; tokens issued by Petrel's own OpenID provider and by an
  // external identity provider are tested in test/oauth. Here a fixed token stands for a valid one.
  t.app.bearer = async (token) => (token === TOKEN || token === LONG_TOKEN ? { accountId: aliceId } : null);
});
after(() => t.stop());

const SCRAM = new URL('../helpers/scram-client.pl', import.meta.url).pathname;

for (const proto of ['imap', 'smtp', 'pop3'] as const) {
  const port = () => (proto === 'imap' ? t.ports.imap : proto === 'smtp' ? t.ports.submission : t.ports.pop3);

  test(`SCRAM-SHA-256 over ${proto} with an independent client; the server's signature verifies`, {
    skip: scramLib.skip,
  }, async () => {
    const ok = await run('perl', [SCRAM, proto, '127.0.0.1', String(port()), USER, PASS]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^OK /);
    const bad = await run('perl', [SCRAM, proto, '127.0.0.1', String(port()), USER, 'wrong password']);
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(
      bad.stdout,
      proto === 'imap' ? /NO \[AUTHENTICATIONFAILED\]/ : proto === 'smtp' ? /^535 5\.7\.8/ : /^-ERR \[AUTH\]/,
    );
    const unknown = await run('perl', [SCRAM, proto, '127.0.0.1', String(port()), 'nobody@localhost', PASS]);
    assert.equal(unknown.status, 1, 'an unknown user gets a full exchange and fails at the proof');
  });
}

test('PLAIN and LOGIN over IMAP, SMTP and POP3 with Python imaplib, smtplib and poplib', {
  skip: python.skip,
}, async () => {
  const code = `
import imaplib, smtplib, poplib, base64, sys
user, pw, iport, sport, pport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = []
def imap(mech, password):
    m = imaplib.IMAP4('127.0.0.1', iport)
    try:
        if mech == 'PLAIN':
            m.authenticate('PLAIN', lambda _: ('\\0%s\\0%s' % (user, password)).encode())
        else:
            answers = iter([user.encode(), password.encode()])
            m.authenticate('LOGIN', lambda _: next(answers))
        out.append('imap %s %s ok' % (mech, password == pw))
    except imaplib.IMAP4.error as e:
        out.append('imap %s %s refused' % (mech, password == pw))
    m.logout()
def smtp(mech, password):
    s = smtplib.SMTP('127.0.0.1', sport)
    s.ehlo('py.test')
    s.user, s.password = user, password
    try:
        s.auth(mech, s.auth_plain if mech == 'PLAIN' else s.auth_login)
        out.append('smtp %s %s ok' % (mech, password == pw))
    except smtplib.SMTPAuthenticationError as e:
        out.append('smtp %s %s refused %d' % (mech, password == pw, e.smtp_code))
    s.quit()
def pop(mech, password):
    p = poplib.POP3('127.0.0.1', pport)
    try:
        if mech == 'USER':
            p.user(user); p.pass_(password)
        elif mech == 'PLAIN':
            p._shortcmd('AUTH PLAIN ' + base64.b64encode(('\\0%s\\0%s' % (user, password)).encode()).decode())
        else:
            p._putcmd('AUTH LOGIN')
            assert p._getline()[0].startswith(b'+ ')
            p._putcmd(base64.b64encode(user.encode()).decode())
            assert p._getline()[0].startswith(b'+ ')
            p._shortcmd(base64.b64encode(password.encode()).decode())
        out.append('pop3 %s %s ok %d' % (mech, password == pw, p.stat()[0]))
    except poplib.error_proto as e:
        out.append('pop3 %s %s refused' % (mech, password == pw))
    p.quit()
for mech in ['PLAIN', 'LOGIN']:
    for password in [pw, 'wrong']:
        imap(mech, password); smtp(mech, password)
for mech in ['USER', 'PLAIN', 'LOGIN']:
    for password in [pw, 'wrong']:
        pop(mech, password)
print('\\n'.join(out))
`;
  const r = await run(
    'python3',
    ['-c', code, USER, PASS, String(t.ports.imap), String(t.ports.submission), String(t.ports.pop3)],
    { timeoutMs: 60000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'imap PLAIN True ok',
    'smtp PLAIN True ok',
    'imap PLAIN False refused',
    'smtp PLAIN False refused 535',
    'imap LOGIN True ok',
    'smtp LOGIN True ok',
    'imap LOGIN False refused',
    'smtp LOGIN False refused 535',
    'pop3 USER True ok 0',
    'pop3 USER False refused',
    'pop3 PLAIN True ok 0',
    'pop3 PLAIN False refused',
    'pop3 LOGIN True ok 0',
    'pop3 LOGIN False refused',
  ]);
});

test('an IDN account signs in with its address as it was given (U-label), in any case: imaplib, smtplib, poplib', {
  skip: python.skip,
}, async () => {
  await t.app.directory.addDomain('bücher.test');
  await t.app.directory.addAccount('bob@bücher.test', PASS);
  // IMAP4rev2 (RFC 9051 section 4.3) quoted strings carry UTF-8; imaplib sends a bytes argument as it is.
  // SASL user names are UTF-8 (RFC 4616 section 2): smtplib encodes its own AUTH as ASCII, and POP3 USER takes
  // ASCII only (RFC 1939), so SMTP and POP3 send AUTH PLAIN by hand.
  const code = `
import imaplib, smtplib, poplib, base64, sys
user, pw, iport, sport, pport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = []
def imap_login(name, password):
    m = imaplib.IMAP4('127.0.0.1', iport)
    try:
        m.login(('"%s"' % name).encode(), password)
        out.append('imap LOGIN %s ok' % name)
    except imaplib.IMAP4.error:
        out.append('imap LOGIN %s refused' % name)
    m.logout()
imap_login(user, pw)
imap_login(user.upper(), pw)
imap_login('bob@xn--bcher-kva.test', pw)
imap_login(user, 'wrong')
m = imaplib.IMAP4('127.0.0.1', iport)
m.authenticate('PLAIN', lambda _: ('\\0%s\\0%s' % (user, pw)).encode())
out.append('imap PLAIN ok')
m.logout()
s = smtplib.SMTP('127.0.0.1', sport)
s.ehlo('py.test')
out.append('smtp PLAIN %d' % s.docmd('AUTH', 'PLAIN ' + base64.b64encode(('\\0%s\\0%s' % (user, pw)).encode()).decode())[0])
s.quit()
p = poplib.POP3('127.0.0.1', pport)
p._shortcmd('AUTH PLAIN ' + base64.b64encode(('\\0%s\\0%s' % (user, pw)).encode()).decode())
out.append('pop3 PLAIN ok %d' % p.stat()[0])
p.quit()
print('\\n'.join(out))
`;
  const r = await run(
    'python3',
    ['-c', code, 'bob@bücher.test', PASS, String(t.ports.imap), String(t.ports.submission), String(t.ports.pop3)],
    { timeoutMs: 60000 },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'imap LOGIN bob@bücher.test ok',
    'imap LOGIN BOB@BÜCHER.TEST ok',
    'imap LOGIN bob@xn--bcher-kva.test ok',
    'imap LOGIN bob@bücher.test refused',
    'imap PLAIN ok',
    'smtp PLAIN 235',
    'pop3 PLAIN ok 0',
  ]);
});

for (const mech of ['OAUTHBEARER', 'XOAUTH2'] as const) {
  test(`${mech} over IMAP, POP3 and SMTP with curl --oauth2-bearer; a wrong token is refused`, {
    skip: curl.skip,
  }, async () => {
    const common = ['-sS', '--max-time', '20', '--login-options', `AUTH=${mech}`, '--user', USER];
    const imap = await run('curl', [...common, '--oauth2-bearer', TOKEN, `imap://127.0.0.1:${t.ports.imap}/`]);
    assert.equal(imap.status, 0, imap.stderr);
    assert.match(imap.stdout, /LIST \(.*\) "\/" INBOX/);
    const pop = await run('curl', [...common, '--oauth2-bearer', TOKEN, `pop3://127.0.0.1:${t.ports.pop3}/`]);
    assert.equal(pop.status, 0, pop.stderr);
    const smtp = await run(
      'curl',
      [
        ...common,
        '--oauth2-bearer',
        TOKEN,
        `smtp://127.0.0.1:${t.ports.submission}`,
        '--mail-from',
        USER,
        '--mail-rcpt',
        USER,
        '-T',
        '-',
      ],
      { input: `From: ${USER}\r\nTo: ${USER}\r\nSubject: via ${mech}\r\n\r\nhello\r\n` },
    );
    assert.equal(smtp.status, 0, smtp.stderr);
    for (const url of [
      `imap://127.0.0.1:${t.ports.imap}/`,
      `pop3://127.0.0.1:${t.ports.pop3}/`,
      `smtp://127.0.0.1:${t.ports.submission}`,
    ]) {
      const bad = await run('curl', [
        ...common,
        '--oauth2-bearer',
        'not-a-valid-token',
        url,
        ...(url.startsWith('smtp') ? ['--mail-rcpt', USER, '-T', '/dev/null'] : []),
      ]);
      assert.equal(bad.status, 67, `${url}: curl reports a login failure (67): ${bad.stderr}`);
    }
  });
}

test('the SASL exchange by hand: continuation, "*" cancels, bad base64, the OAUTHBEARER error challenge', async () => {
  const c = await LineClient.open(t.ports.imap);
  await c.line();
  c.send('a AUTHENTICATE PLAIN');
  assert.equal(await c.line(), '+ ');
  c.send('*');
  assert.match((await c.line())!, /^a BAD /);
  c.send('b AUTHENTICATE PLAIN !!!notbase64');
  assert.match((await c.line())!, /^b BAD /);
  c.send('c AUTHENTICATE CRAM-MD5');
  assert.match((await c.line())!, /^c NO /);
  const bad = Buffer.from(`n,a=${USER},\x01auth=Bearer wrong\x01\x01`).toString('base64');
  c.send(`d AUTHENTICATE OAUTHBEARER ${bad}`);
  const challenge = await c.line();
  assert.match(challenge!, /^\+ /);
  assert.equal(JSON.parse(Buffer.from(challenge!.slice(2), 'base64').toString()).status, 'invalid_token');
  c.send(Buffer.from('\x01').toString('base64'));
  assert.match((await c.line())!, /^d NO \[AUTHENTICATIONFAILED\]/);
  const good = Buffer.from(`n,a=${USER},\x01auth=Bearer ${TOKEN}\x01\x01`).toString('base64');
  c.send(`e AUTHENTICATE OAUTHBEARER ${good}`);
  assert.match((await c.until(/^e /))!, /^e OK /);
  c.close();

  const s = await LineClient.open(t.ports.submission);
  await s.until(/^220 /);
  s.send('EHLO by.hand');
  assert.match((await s.until(/^250 /))!, /^250 /);
  s.send('AUTH LOGIN');
  assert.equal(await s.line(), `334 ${Buffer.from('Username:').toString('base64')}`);
  s.send('*');
  assert.match((await s.line())!, /^501 5\.0\.0/);
  s.send('AUTH XOAUTH2 dXNlcj0=');
  assert.match((await s.line())!, /^501 /, 'malformed XOAUTH2 message');
  s.close();
});

/** One SCRAM-SHA-256 sign-in over IMAP with test/helpers/scram.ts: the tagged reply. */
async function imapScram(user: string, password: string): Promise<string> {
  const c = await LineClient.open(t.ports.imap);
  await c.line();
  const scram = scramClient(user);
  c.send(`a AUTHENTICATE SCRAM-SHA-256 ${Buffer.from(scram.first).toString('base64')}`);
  const first = (await c.line())!;
  c.send(Buffer.from(scram.final(Buffer.from(first.slice(2), 'base64').toString(), password)).toString('base64'));
  const r = (await c.until(/^(a |\+ )/))!;
  if (r.startsWith('+ ')) c.send('');
  const tagged = r.startsWith('+ ') ? (await c.until(/^a /))! : r;
  c.close();
  return tagged;
}

test('a password SASLprep refuses (an emoji, a tab) makes an account and replaces a password: the old one stops working over SCRAM', async () => {
  // RFC 4013 refuses code points unassigned in Unicode 3.2 (every emoji) and control characters; such a
  // password is still a password: PLAIN, LOGIN and the account's creation must not fail on it.
  const NEW = 'horse \u{1F40E}\tbattery';
  const made = await t.app.directory.addAccount('emoji@localhost', NEW).then(
    () => 'made',
    (e: Error) => e.message,
  );
  assert.equal(made, 'made');
  const c = await LineClient.open(t.ports.imap);
  await c.line();
  c.send(`a LOGIN "emoji@localhost" {${Buffer.byteLength(NEW)}+}`);
  c.send(`${NEW}`);
  assert.match((await c.until(/^a /))!, /^a OK /);
  c.send('b SELECT INBOX');
  assert.match((await c.until(/^b /))!, /^b OK /, 'the new account has its mailboxes');
  c.close();

  await t.app.directory.addAccount('frank@localhost', 'old password');
  assert.match(await imapScram('frank@localhost', 'old password'), /^a OK /);
  await t.app.directory.setPassword('frank@localhost', NEW).catch(() => {});
  assert.match(await imapScram('frank@localhost', 'old password'), /^a NO /, 'the old password is gone for SCRAM too');
  assert.match(await imapScram('frank@localhost', NEW), /^a OK /);
});

test('SCRAM: an unknown user gets one salt however the name is spelt, as an account does', async () => {
  const salt = (user: string) => imapScramSalt(t.ports.imap, user);
  // One account, one salt, whatever the spelling (the lookup trims, lower-cases, takes IDNs as A-labels).
  const real = await salt(USER);
  assert.equal(await salt(` ${USER.toUpperCase()}`), real);
  // An unknown user must look the same: a salt that changed with the spelling would tell that it is fake.
  for (const local of ['nobody', 'zoe']) {
    const fake = await salt(`${local}@bücher.test`);
    assert.notEqual(fake, real);
    assert.equal(await salt(`${local}@BÜCHER.test`), fake);
    assert.equal(await salt(` ${local}@xn--bcher-kva.test`), fake, `${local}: padded, as an A-label`);
  }
});

test('SMTP AUTH: a long token as the initial response (nodemailer XOAUTH2) is read; a too-long response line is 500 5.5.6', async () => {
  // RFC 4954 section 4: SASL lines "can be much longer than normal SMTP commands" (12288 octets suffice).
  // nodemailer sends XOAUTH2 as an initial response whatever its length.
  const mailer = nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.ports.submission,
    secure: false,
    ignoreTLS: true,
    auth: { type: 'OAuth2', user: USER, accessToken: LONG_TOKEN },
  });
  try {
    const info = await mailer.sendMail({ from: USER, to: USER, subject: 'long token', text: 'hello\n' });
    assert.deepEqual(info.accepted, [USER]);
  } finally {
    mailer.close();
  }
  const s = await LineClient.open(t.ports.submission);
  await s.until(/^220 /);
  s.send('EHLO by.hand');
  await s.until(/^250 /);
  s.send(`MAIL FROM:<${USER}> ${'X'.repeat(3000)}`);
  assert.match((await s.line())!, /^500 5\.5\.2 /, 'other commands keep the command line limit');
  s.send('AUTH PLAIN');
  assert.equal(await s.line(), '334 ');
  s.send('A'.repeat(20000));
  assert.match((await s.line())!, /^500 5\.5\.6 /, 'a response longer than the authentication buffer');
  s.send('NOOP');
  assert.match((await s.line())!, /^250 /);
  s.close();
});

test('the user a token or an authzid names is compared as an account, not as a spelling: an IDN user in its U-label', async () => {
  await t.app.directory.addDomain('bücher.example').catch(() => {});
  const carla = await t.app.directory.addAccount('carla@bücher.example', PASS);
  const CARLA_TOKEN = 'carla-token-0123456789abcdef';
  const before = t.app.bearer;
  t.app.bearer = async (token) => (token === CARLA_TOKEN ? { accountId: carla.id } : before(token));
  try {
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    const attempts: [string, string][] = [
      ['OAUTHBEARER', b64(`n,a=carla@bücher.example,\x01auth=Bearer ${CARLA_TOKEN}\x01\x01`)],
      ['XOAUTH2', b64(`user=CARLA@BÜCHER.EXAMPLE\x01auth=Bearer ${CARLA_TOKEN}\x01\x01`)],
      ['PLAIN', b64(`carla@bücher.example\0carla@xn--bcher-kva.example\0${PASS}`)],
    ];
    for (const [mech, ir] of attempts) {
      const c = await LineClient.open(t.ports.imap);
      await c.line();
      c.send(`a AUTHENTICATE ${mech} ${ir}`);
      const r = (await c.until(/^(a |\+ )/))!;
      c.close();
      assert.match(r, /^a OK /, mech);
    }
  } finally {
    t.app.bearer = before;
  }
});
