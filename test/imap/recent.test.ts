// \Recent over the wire (RFC 3501 sections 2.3.2, 6.3.2, 6.3.10): EXAMINE and STATUS report the messages
// no read-write session has taken yet without taking them; SELECT takes them. Driven by Python imaplib,
// whose `select(readonly=True)` is EXAMINE, and by a raw IMAP4rev2 session, which never hears of \Recent
// (RFC 9051 dropped it) and takes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { appendCmd, type ImapFixture, imapFixture, msg } from './fixture.ts';

const python = peer('python3', 'python3');
let f: ImapFixture;
before(async () => {
  f = await imapFixture({ users: ['alice', 'bob'] });
});
after(() => f.stop());

// Two connections, M and N, of one user: prints what each step saw as JSON.
const CLIENT = `
import imaplib, json, sys
port, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
def conn():
    c = imaplib.IMAP4('127.0.0.1', port)
    c.login(user, pw)
    return c
def recent(c):
    return [x.decode() for x in c.response('RECENT')[1] if x is not None]
def flags(c):
    typ, data = c.fetch('1:*', '(FLAGS)')
    return [d.decode() for d in data]
M, N = conn(), conn()
M.create('PyRec')
for s in ('one', 'two'):
    M.append('PyRec', None, None, ('Subject: ' + s + '\\r\\n\\r\\nbody\\r\\n').encode())
M.select('PyRec', readonly=True)
out['examine'] = recent(M)
out['examine_flags'] = flags(M)
out['examine_search'] = M.search(None, 'RECENT')[1][0].decode()
out['status'] = N.status('PyRec', '(RECENT)')[1][0].decode()
N.append('PyRec', None, None, b'Subject: three\\r\\n\\r\\nbody\\r\\n')
M.noop()
out['examine_noop'] = recent(M)
N.select('PyRec')
out['select'] = recent(N)
out['select_flags'] = flags(N)
M.close()
out['status_after'] = M.status('PyRec', '(RECENT)')[1][0].decode()
M.select('PyRec', readonly=True)
out['examine_after'] = recent(M)
out['examine_after_flags'] = flags(M)
M.logout(); N.logout()
print(json.dumps(out))
`;

test('Python imaplib: EXAMINE and STATUS report \\Recent without taking it; SELECT takes it', {
  skip: python.skip,
}, async () => {
  const r = await run(python.path!, ['-c', CLIENT, String(f.port), 'alice@example.com', 'secret'], {
    timeoutMs: 30000,
  });
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  assert.deepEqual(o.examine, ['2']);
  assert.deepEqual(o.examine_flags, ['1 (FLAGS (\\Recent))', '2 (FLAGS (\\Recent))']);
  assert.equal(o.examine_search, '1 2');
  assert.equal(o.status, 'PyRec (RECENT 2)', 'EXAMINE took nothing');
  // A delivery nobody has taken is \Recent in the read-only session too.
  assert.deepEqual(o.examine_noop, ['3']);
  assert.deepEqual(o.select, ['3'], 'the first read-write session still gets all three');
  assert.deepEqual(o.select_flags, ['1 (FLAGS (\\Recent))', '2 (FLAGS (\\Recent))', '3 (FLAGS (\\Recent))']);
  assert.equal(o.status_after, 'PyRec (RECENT 0)');
  assert.deepEqual(o.examine_after, ['0']);
  assert.deepEqual(o.examine_after_flags, ['1 (FLAGS ())', '2 (FLAGS ())', '3 (FLAGS ())']);
});

test('IMAP4rev2: EXAMINE and SELECT send no RECENT and no \\Recent, and take nothing', async () => {
  const c = await f.login('bob@example.com');
  const rev1 = await f.login('bob@example.com');
  await c.cmd('CREATE Rev2');
  await c.cmd(appendCmd('Rev2', msg('a')));
  await c.cmd('ENABLE IMAP4rev2');
  for (const verb of ['EXAMINE', 'SELECT']) {
    const r = await c.cmd(`${verb} Rev2`);
    assert.match(r.tagged, /OK/);
    assert.ok(!r.raw.includes('RECENT'), r.raw);
    assert.deepEqual((await c.cmd('FETCH 1 (FLAGS)')).lines, ['* 1 FETCH (FLAGS ())']);
    // Another delivery: EXISTS, no RECENT.
    await rev1.cmd(appendCmd('Rev2', msg(`b${verb}`)));
    const n = await c.cmd('NOOP');
    assert.ok(n.lines.some((l) => / EXISTS$/.test(l)) && !n.raw.includes('RECENT'), n.raw);
  }
  // An IMAP4rev1 session opening it read-write afterwards is the first to take all three.
  assert.ok((await rev1.cmd('SELECT Rev2')).lines.includes('* 3 RECENT'));
  c.close();
  rev1.close();
});

// RFC 9051 section 9: status-att is MESSAGES / UIDNEXT / UIDVALIDITY / UNSEEN / DELETED / SIZE (appendix E
// item 12 drops RECENT STATUS), so a rev2 session asking for RECENT sent an unknown item: BAD, as for any.
// Dovecot 2.3 does not offer IMAP4rev2 (its ENABLE IMAP4rev2 enables nothing) and answers RECENT to all.
test('IMAP4rev2: STATUS and LIST RETURN (STATUS) with RECENT are BAD; rev1 sessions still get RECENT', async () => {
  const c = await f.login('bob@example.com');
  const rev1 = await f.login('bob@example.com');
  await c.cmd('CREATE StatRev2');
  await c.cmd(appendCmd('StatRev2', msg('a')));
  assert.deepEqual((await rev1.cmd('STATUS StatRev2 (MESSAGES RECENT)')).lines, [
    '* STATUS StatRev2 (MESSAGES 1 RECENT 1)',
  ]);
  await c.cmd('ENABLE IMAP4rev2');
  for (const cmd of [
    'STATUS StatRev2 (RECENT)',
    'STATUS StatRev2 (MESSAGES recent)',
    'LIST "" StatRev2 RETURN (STATUS (MESSAGES RECENT))',
  ]) {
    const r = await c.cmd(cmd);
    assert.match(r.tagged, /^\S+ BAD /, `${cmd}: ${r.raw}`);
    assert.ok(!r.raw.includes('* STATUS'), `${cmd}: ${r.raw}`);
  }
  assert.deepEqual((await c.cmd('STATUS StatRev2 (MESSAGES UNSEEN)')).lines, [
    '* STATUS StatRev2 (MESSAGES 1 UNSEEN 1)',
  ]);
  // The rev2 session's refusal took nothing: the rev1 session still sees the message as recent.
  const again = await rev1.cmd('LIST "" StatRev2 RETURN (STATUS (RECENT))');
  assert.ok(again.lines.includes('* STATUS StatRev2 (RECENT 1)'), again.raw);
  c.close();
  rev1.close();
});
