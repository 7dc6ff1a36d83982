// Config loading: defaults, validation with file/line/key, environment overrides, generated docs.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { ConfigError, defaults, loadConfig, unknownEnv, validate } from './load.ts';
import { commentedConfig, markdownReference } from './reference.ts';

const dir = mkdtempSync(join(tmpdir(), 'petrel-config-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('no file: defaults are the quick-start values', () => {
  const { config, file } = loadConfig({ path: undefined, env: {} });
  assert.equal(file, null);
  assert.equal(config.listeners.smtp.port, 2525);
  assert.equal(config.listeners.http.port, 8080);
  assert.equal(config.store.backend, 'sqlite');
  assert.equal(config.listeners.lmtp.enabled, false);
});

test('a misspelt key is refused with file, line and key named', () => {
  const p = write('bad.toml', '[server]\nhostname = "mx.example.com"\n\n[listeners.smtp]\nprot = 25\n');
  assert.throws(
    () => loadConfig({ path: p, env: {} }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message.includes(`${p}:5: unknown key "listeners.smtp.prot" (did you mean "port"?)`),
  );
});

test('unknown sections, dotted keys and wrong types name their line', () => {
  const p = write(
    'bad2.toml',
    'server.hostnme = "x"\n[stor]\nbackend = "sqlite"\n[store]\nbackend = "mysql"\n[listeners.imap]\nport = "143"\n',
  );
  try {
    loadConfig({ path: p, env: {} });
    assert.fail('should throw');
  } catch (e) {
    const m = (e as Error).message;
    assert.match(m, /bad2\.toml:1: unknown key "server\.hostnme"/);
    assert.match(m, /bad2\.toml:2: unknown key "stor"/);
    assert.match(m, /bad2\.toml:5: "store\.backend" expected one of "sqlite", "postgres"/);
    assert.match(m, /bad2\.toml:7: "listeners\.imap\.port" expected an integer/);
  }
});

test('TOML syntax errors carry line and column', () => {
  const p = write('syntax.toml', '[server]\nhostname = \n');
  assert.throws(() => loadConfig({ path: p, env: {} }), /syntax\.toml:2:\d+/);
});

test('an explicit path that does not exist is an error; PETREL_CONFIG names the file', () => {
  assert.throws(() => loadConfig({ path: join(dir, 'missing.toml'), env: {} }), /cannot read config file/);
  const p = write('env.toml', '[server]\nhostname = "from-file.example"\n');
  assert.equal(loadConfig({ env: { PETREL_CONFIG: p } }).config.server.hostname, 'from-file.example');
});

test('PETREL_* environment variables override the file', () => {
  const p = write('ok.toml', '[listeners.smtp]\nport = 25\n[dns]\nnameservers = ["127.0.0.1:53"]\n');
  const { config } = loadConfig({
    path: p,
    env: {
      PETREL_LISTENERS_SMTP_PORT: '2626',
      PETREL_STORE_BACKEND: 'postgres',
      PETREL_LISTENERS_IMAP_ENABLED: 'false',
      PETREL_DNS_NAMESERVERS: '127.0.0.1:5353, 127.0.0.2',
    },
  });
  assert.equal(config.listeners.smtp.port, 2626);
  assert.equal(config.store.backend, 'postgres');
  assert.equal(config.listeners.imap.enabled, false);
  assert.deepEqual(config.dns.nameservers, ['127.0.0.1:5353', '127.0.0.2']);
  assert.throws(
    () => loadConfig({ path: p, env: { PETREL_LISTENERS_SMTP_PORT: 'abc' } }),
    /PETREL_LISTENERS_SMTP_PORT/,
  );
});

test('PETREL_* variables that match no key are named, with the nearest one', () => {
  assert.deepEqual(
    unknownEnv({
      PETREL_LISTENERS_SMTP_PORT: '25',
      PETREL_LISTENERS_SMTP_PROT: '25',
      PETREL_CONFIG: '/etc/petrel/petrel.toml',
      PETREL_TEST_PG_URL: 'postgres://127.0.0.1/test',
      PETREL_BENCH_CPU_PROF: '/tmp',
      PETREL_WHATEVER: '1',
      HOME: '/root',
    }),
    [
      'environment PETREL_LISTENERS_SMTP_PROT: no such key (did you mean "PETREL_LISTENERS_SMTP_PORT"?)',
      'environment PETREL_WHATEVER: no such key',
    ],
  );
});

test('the commented production config parses, validates and uses standard ports', () => {
  const text = commentedConfig({ 'server.hostname': 'mail.example.com' }, ['header']);
  const cfg = validate(parse(text) as Record<string, unknown>, 'x.toml', text);
  assert.equal(cfg.server.hostname, 'mail.example.com');
  assert.deepEqual(
    [cfg.listeners.smtp.port, cfg.listeners.submission.port, cfg.listeners.submissions.port],
    [25, 587, 465],
  );
  assert.deepEqual([cfg.listeners.imap.port, cfg.listeners.imaps.port], [143, 993]);
  assert.deepEqual([cfg.listeners.pop3.port, cfg.listeners.pop3s.port, cfg.listeners.http.port], [110, 995, 443]);
  assert.match(text, /^# The one DNS resolver/m);
});

test('the Markdown reference lists every key with its default and variable', () => {
  const md = markdownReference();
  assert.match(md, /\| `port` \| `2525` \| `PETREL_LISTENERS_SMTP_PORT` \|/);
  assert.match(md, /#### `\[store\]`/);
  assert.ok(defaults().server.data_dir === './data');
});
