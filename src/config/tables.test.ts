// Arrays of tables in the config ([[tls.certificates]]): parsed, defaults filled, entries validated,
// overridable from the environment as JSON, and shown as a commented example by `petrel init`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { applyEnv, ConfigError, defaults, validate } from './load.ts';
import { commentedConfig } from './reference.ts';

const load = (text: string) => validate(parse(text) as Record<string, unknown>, 'petrel.toml', text);

test('[[tls.certificates]] entries are read with defaults for missing keys', () => {
  const c = load(
    '[tls]\nmin_version = "TLSv1.2"\n\n[[tls.certificates]]\ndomains = ["a.example"]\ncert = "/a.crt"\nkey = "/a.key"\n\n[[tls.certificates]]\ncert = "/b.crt"\nkey = "/b.key"\n',
  );
  assert.deepEqual(c.tls.certificates, [
    { domains: ['a.example'], cert: '/a.crt', key: '/a.key' },
    { domains: [], cert: '/b.crt', key: '/b.key' },
  ]);
  assert.deepEqual(defaults().tls.certificates, []);
});

test('a bad entry is refused with the key and entry named', () => {
  assert.throws(
    () => load('[[tls.certificates]]\ncert = "/a.crt"\nkye = "/a.key"\n'),
    (e: Error) => e instanceof ConfigError && /tls\.certificates.*entry 1: unknown key "kye"/.test(e.message),
  );
  assert.throws(
    () => load('[[tls.certificates]]\ndomains = "a.example"\n'),
    (e: Error) => e instanceof ConfigError && /entry 1: "domains" expected a list/.test(e.message),
  );
  assert.throws(() => load('[tls]\ncertificates = "x"\n'), ConfigError);
});

test('environment override as JSON', () => {
  const c = applyEnv(defaults(), {
    PETREL_TLS_CERTIFICATES: '[{"domains":["x.example"],"cert":"/x.crt","key":"/x.key"}]',
  });
  assert.equal(c.tls.certificates[0].cert, '/x.crt');
  assert.throws(() => applyEnv(defaults(), { PETREL_TLS_CERTIFICATES: 'nope' }), ConfigError);
});

test('the commented production config shows an example entry and still parses', () => {
  const text = commentedConfig({});
  assert.match(text, /# \[\[tls\.certificates\]\]/);
  const c = load(text);
  assert.deepEqual(c.tls.certificates, []);
  // Uncommenting the example gives a valid entry.
  const example = text.replace(/^# (\[\[tls\.certificates\]\]|domains = |cert = |key = )/gm, '$1');
  assert.deepEqual(load(example).tls.certificates, [
    {
      domains: ['example.com', 'mail.example.com'],
      cert: '/etc/petrel/tls/example.com.crt',
      key: '/etc/petrel/tls/example.com.key',
    },
  ]);
});
