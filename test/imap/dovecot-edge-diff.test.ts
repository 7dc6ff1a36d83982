// RFC 2231 parameter continuations in BODYSTRUCTURE and BODY, and FETCH of sections that name no part, against
// Dovecot's answers: recorded below from Dovecot 2.3.19 (so the test runs without it), and compared live with a
// private Dovecot on loopback when one is installed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawImap } from '../helpers/imap-client.ts';
import { type Dovecot, peer, startDovecot } from '../helpers/peers.ts';
import { appendAll, fetchOne } from './diff-helpers.ts';
import { MISSING_SECTIONS, PARAM_MESSAGES, SECTION_MESSAGES } from './edge-cases.ts';
import { type ImapFixture, imapFixture } from './fixture.ts';

/**
 * Dovecot's BODYSTRUCTURE for each case of PARAM_MESSAGES: continuations joined into one parameter, encoded
 * values left encoded (see joinContinuations in src/mime/params.ts).
 */
const EXPECTED: Record<string, string> = {
  plain: `("application" "x-stuff" ("title" "This is even more ***fun*** isn't it!") NIL NIL "7bit" 7 NIL NIL NIL NIL)`,
  encoded: `("application" "x-stuff" ("title*" "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!") NIL NIL "7bit" 7 NIL NIL NIL NIL)`,
  'single-encoded': `("application" "x-stuff" ("title*" "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A") NIL NIL "7bit" 7 NIL NIL NIL NIL)`,
  'disposition-utf8': `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL ("attachment" ("filename*" "utf-8''%E2%82%AC%20rates.pdf")) NIL NIL)`,
  'out-of-order': '("application" "x-stuff" ("title" "first-second") NIL NIL "7bit" 7 NIL NIL NIL NIL)',
  'missing-0': '("application" "x-stuff" ("title*1" "second" "title*2" "third") NIL NIL "7bit" 7 NIL NIL NIL NIL)',
  gap: '("application" "x-stuff" ("title*0" "a" "title*2*" "c") NIL NIL "7bit" 7 NIL NIL NIL NIL)',
  duplicate: '("application" "x-stuff" ("title*0" "a" "title*0" "b") NIL NIL "7bit" 7 NIL NIL NIL NIL)',
  'plain-and-continued':
    '("application" "x-stuff" ("title" "plainval" "title" "cont0cont1") NIL NIL "7bit" 7 NIL NIL NIL NIL)',
  latin1: `("text" "plain" ("name*" "iso-8859-1''caf%E9.txt" "charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL)`,
  'name-case': '("application" "x-stuff" ("TITLE" "AB") NIL NIL "7bit" 7 NIL NIL NIL NIL)',
  'leading-zeros': '("application" "x-stuff" ("title" "AB") NIL NIL "7bit" 7 NIL NIL NIL NIL)',
  interleaved: '("application" "x-stuff" ("a" "1" "b" "2" "Z" "z" "title" "xy") NIL NIL "7bit" 7 NIL NIL NIL NIL)',
  'mixed-percent': `("application" "x-stuff" ("title*" "utf-8''a%20b100%25") NIL NIL "7bit" 7 NIL NIL NIL NIL)`,
  'mixed-plain-first': `("application" "x-stuff" ("title*" "''plain %E2%82%AC") NIL NIL "7bit" 7 NIL NIL NIL NIL)`,
  multipart: `(("text" "plain" ("name" "partone.txt" "charset" "us-ascii") NIL NIL "7bit" 1 0 NIL ("attachment" ("filename*" "utf-8''%C3%A9t%C3%A9.txt")) NIL NIL) "mixed" ("boundary" "bound") NIL NIL NIL)`,
};

/**
 * Where we answer otherwise on purpose. Dovecot takes BODY[1.1] of a text part inside a multipart to be the
 * part itself; RFC 9051 section 6.4.5.1 gives a part number 1 inside only to a message that is not multipart
 * (or a message/rfc822 part), so for us that part does not exist, as [1.1] of a single-part message does not
 * for Dovecot either.
 */
const DIFFERENCES: Record<string, string> = {
  '2 BODY.PEEK[1.1]': '(BODY[1.1] {0}\r\n)',
  '2 BINARY.PEEK[1.1]': '(BINARY[1.1] {0}\r\n)',
  '2 BINARY.SIZE[1.1]': '(BINARY.SIZE[1.1] 0)',
};

/**
 * A section that names no part is answered as Dovecot answers it: an empty string (RFC 9051 section 7.5.2
 * allows NIL or a string for BODY[...] and BINARY[...]), and size 0 for BINARY.SIZE, whose grammar takes only
 * a number.
 */
function emptyAnswer(item: string): string {
  const label = item.replace('.PEEK', '').replace(/<(\d+)\.\d+>$/, '<$1>');
  return label.startsWith('BINARY.SIZE') ? `(${label} 0)` : `(${label} {0}\r\n)`;
}

const dovecotPeer = peer('dovecot', 'dovecot-imapd');
let f: ImapFixture;
let dovecot: Dovecot | null = null;

async function load(c: RawImap): Promise<void> {
  await c.cmd('CREATE Edge');
  const all = [...PARAM_MESSAGES.map(([, m]) => m), ...SECTION_MESSAGES, SECTION_MESSAGES[1]];
  await appendAll(
    c,
    'Edge',
    all.map((m) => Buffer.from(m)),
  );
  assert.match((await c.cmd('SELECT Edge')).tagged, / OK /);
}

/** Every answer of the script, by a name: "case BODYSTRUCTURE", "n item" for the section messages. */
async function answers(c: RawImap): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [i, [name]] of PARAM_MESSAGES.entries()) {
    out.set(`${name} BODYSTRUCTURE`, await fetchOne(c, i + 1, 'BODYSTRUCTURE'));
    out.set(`${name} BODY`, await fetchOne(c, i + 1, 'BODY'));
  }
  for (const [j] of SECTION_MESSAGES.entries())
    for (const item of MISSING_SECTIONS)
      out.set(`${j + 1} ${item}`, await fetchOne(c, PARAM_MESSAGES.length + j + 1, item));
  // Without .PEEK: still the empty answer, and \Seen is set as for any body section (RFC 9051 section 6.4.5).
  const last = PARAM_MESSAGES.length + SECTION_MESSAGES.length + 1;
  // The FLAGS this sends along (where in the list is each server's choice) is read by the FETCH FLAGS after it.
  const both = await fetchOne(c, last, 'BODY[2500] BINARY[2500]');
  out.set('BODY[2500] BINARY[2500]', both.replace(/ ?FLAGS \([^)]*\) ?/, ''));
  out.set('FLAGS after', await fetchOne(c, last, 'FLAGS'));
  return out;
}

let petrel: Map<string, string>;
before(async () => {
  f = await imapFixture({ users: ['alice'] });
  const c = await f.login();
  await load(c);
  petrel = await answers(c);
  if (!dovecotPeer.skip) dovecot = await startDovecot({ users: 1 });
});
after(async () => {
  await f.stop();
  await dovecot?.stop();
});

test('BODYSTRUCTURE and BODY join RFC 2231 continuations as Dovecot does', () => {
  for (const [name] of PARAM_MESSAGES) {
    assert.equal(petrel.get(`${name} BODYSTRUCTURE`), `(BODYSTRUCTURE ${EXPECTED[name]})`, name);
    // BODY is BODYSTRUCTURE without extension data: the same parameter lists for the body type.
    const bs = petrel.get(`${name} BODYSTRUCTURE`)!;
    const params = /^\(BODYSTRUCTURE \("[^"]+" "[^"]+" (\([^)]*\)|NIL)/.exec(bs)?.[1];
    if (params) assert.ok(petrel.get(`${name} BODY`)!.includes(params), name);
  }
});

test('sections that name no part: an empty string, BINARY.SIZE 0', () => {
  for (const [j] of SECTION_MESSAGES.entries())
    for (const item of MISSING_SECTIONS) {
      const key = `${j + 1} ${item}`;
      assert.equal(petrel.get(key), DIFFERENCES[key] ?? emptyAnswer(item), key);
    }
  assert.equal(petrel.get('BODY[2500] BINARY[2500]'), '(BODY[2500] {0}\r\n BINARY[2500] {0}\r\n)');
  assert.equal(petrel.get('FLAGS after'), '(FLAGS (\\Seen \\Recent))');
});

test('Dovecot answers the same (differential)', { skip: dovecotPeer.skip }, async () => {
  const c = (await RawImap.open(dovecot!.imapPort)).c;
  await c.cmd('LOGIN user1 pass');
  await load(c);
  const theirs = await answers(c);
  c.close();
  const unexplained: string[] = [];
  for (const [key, answer] of theirs) {
    const ours = petrel.get(key);
    if (ours === answer || DIFFERENCES[key] === ours) continue;
    unexplained.push(`${key}\n  dovecot: ${answer}\n  petrel:  ${ours}`);
  }
  assert.deepEqual(unexplained, []);
  for (const [name] of PARAM_MESSAGES)
    assert.equal(theirs.get(`${name} BODYSTRUCTURE`), `(BODYSTRUCTURE ${EXPECTED[name]})`, `recorded: ${name}`);
});
