// Base subject extraction (RFC 5256 section 2.1, the steps and the grammar of section 5) and sort addresses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baseSubject, extractBaseSubject, firstMailbox } from './sort-keys.ts';

test('base subject: RFC 5256 section 2.1 steps', () => {
  // [subject, base subject as written, reply or forward]
  const cases: [string, string, boolean][] = [
    ['Hello', 'Hello', false],
    // (1) tabs, continuations and runs of blanks become one space.
    ['  Hello\t\r\n   world  ', 'Hello world', false],
    // (2) subj-trailer: "(fwd)" and blanks, repeatedly.
    ['Hello (fwd)', 'Hello', true],
    ['Hello (FWD) (fwd)  ', 'Hello', true],
    ['Hello(fwd)', 'Hello', true],
    // (3) subj-leader: subj-refwd, with an optional blob before the colon and blobs before it.
    ['Re: Hello', 'Hello', true],
    ['RE: re: Re:Hello', 'Hello', true],
    ['Fw: Hello', 'Hello', true],
    ['FWD: Hello', 'Hello', true],
    ['Re[2]: Hello', 'Hello', true],
    ['Re [2] : Hello', 'Hello', true],
    ['Re : Hello', 'Hello', true],
    ['[list] Re: Hello', 'Hello', true],
    ['[list][x] Re: Hello', 'Hello', true],
    ['Ref: Hello', 'Ref: Hello', false],
    ['Re Hello', 'Re Hello', false],
    ['Reply: Hello', 'Reply: Hello', false],
    // (4) a leading subj-blob goes only when something non-empty is left.
    ['[list] Hello', 'Hello', false],
    ['[a][b] Hello', 'Hello', false],
    ['[PATCH]', '[PATCH]', false],
    ['[a] [b]', '[b]', false],
    ['Re: [PATCH]', '[PATCH]', true],
    // (5) leaders and blobs alternate.
    ['[list] Re: [list] Re: Hello', 'Hello', true],
    // (6) "[fwd:" ... "]" is unwrapped, then everything again.
    ['[Fwd: Hello]', 'Hello', true],
    ['[fwd: Re: Hello (fwd)]', 'Hello', true],
    ['Re: [Fwd: [list] Hello]', 'Hello', true],
    ['[Fwd: Hello] world', 'world', false],
    // Empty results.
    ['', '', false],
    ['Re:', '', true],
    ['Re: (fwd)', '', true],
    ['[fwd: ]', '', true],
    // Non-ASCII is kept.
    ['Re: Grüße', 'Grüße', true],
  ];
  for (const [subject, base, marked] of cases) {
    assert.deepEqual(extractBaseSubject(subject), { base, replyOrForward: marked }, JSON.stringify(subject));
  }
});

test('stored base subject is lower-cased; first mailbox skips group markers', () => {
  assert.equal(baseSubject('Re: [List] HELLO World'), 'hello world');
  assert.equal(
    firstMailbox([
      { name: null, adl: null, mailbox: 'team', host: null },
      { name: 'A', adl: null, mailbox: 'Alice', host: 'x.test' },
    ]),
    'alice',
  );
  assert.equal(firstMailbox(null), '');
});

test('hostile subjects: runs of blobs and leaders are stripped in one pass', () => {
  // 64 KB of "[x]" took 1.3 s when each blob was dropped and the rest rescanned; 1 MB would take minutes.
  const blobs = '[x] '.repeat(1 << 18);
  assert.deepEqual(extractBaseSubject(`${blobs}topic`), { base: 'topic', replyOrForward: false });
  assert.deepEqual(extractBaseSubject(blobs), { base: '[x]', replyOrForward: false });
  assert.deepEqual(extractBaseSubject(`${'[x] re: '.repeat(1 << 16)}topic (fwd)`), {
    base: 'topic',
    replyOrForward: true,
  });
});
