// Which addresses a spam trap list matches: exact addresses and their +tags, whole domains with their
// subdomains, case-insensitively; entries that are neither refuse to load.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpamTraps } from './traps.ts';

test('exact addresses with +tags, domains with subdomains, nothing else', () => {
  const t = new SpamTraps(['Trap@Example.com', '@old.test']);
  assert.ok(t.has('trap@example.com'));
  assert.ok(t.has('TRAP@EXAMPLE.COM.'));
  assert.ok(t.has('trap+anything@example.com'));
  assert.ok(!t.has('trapx@example.com'));
  assert.ok(!t.has('trap@sub.example.com'));
  assert.ok(!t.has('other@example.com'));
  assert.ok(t.has('a@old.test'));
  assert.ok(t.has('a@deep.sub.old.test'));
  assert.ok(!t.has('a@bold.test'));
  assert.ok(!t.has('a@test'));
  assert.ok(!t.has('no-at-sign'));
  assert.ok(!t.has('a@bad_domain!'));
  assert.deepEqual(t.exact, ['trap@example.com']);
  assert.ok(!new SpamTraps([]).has('trap@example.com'));
});

test('a bad entry or learn name stops the start', () => {
  assert.throws(() => new SpamTraps(['example.com']), /neither user@domain nor @domain/);
  assert.throws(() => new SpamTraps(['a@bad domain']), /neither/);
  assert.throws(() => new SpamTraps(['<a@b.test>']), /neither/);
  assert.throws(() => new SpamTraps([], ['bayes', 'pyzor']), /spam\.traps\.learn: "pyzor"/);
  assert.deepEqual([...new SpamTraps([], ['bayes', 'digests']).learn], ['bayes', 'digests']);
});
