// The usage table of the `petrel` command: what its synopses say agrees with how options are parsed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCEPTS, BOOLEAN_FLAGS, commandHelp } from './usage.ts';

test('an option shown without a value is a boolean flag, and one shown with a value is not', () => {
  const wrong: string[] = [];
  for (const [key, [synopsis]] of Object.entries(ACCEPTS))
    for (const m of synopsis.matchAll(/--([a-z][a-z0-9-]*)(\s+[^[\]|\s]+)?/g)) {
      const takesValue = m[2] !== undefined;
      if (takesValue === BOOLEAN_FLAGS.has(m[1])) wrong.push(`${key}: --${m[1]}`);
    }
  assert.deepEqual(wrong, []);
});

test('per-command help: a command with subcommands lists them all, a subcommand only itself', () => {
  assert.match(commandHelp(['queue']), /petrel queue list\n[\s\S]*petrel queue delete ID\n/);
  assert.doesNotMatch(commandHelp(['queue', 'show']), /queue list/);
  assert.throws(() => commandHelp(['queue', 'shwo']), /unknown queue subcommand "shwo" \(did you mean "show"\?\)/);
  // A command without subcommands takes any word after it as an argument, not as a subcommand.
  assert.match(commandHelp(['serve', 'now']), /petrel serve\n/);
});
