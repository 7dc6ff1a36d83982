// `petrel queue` and `petrel dkim` as an administrator runs them: a real process on a real data directory,
// with mail queued by the server's own code in the same directory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { defaults } from '../../src/config/load.ts';
import { openApp } from '../../src/server/app.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

const run = promisify(execFile);
const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-qcli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function petrel(args: string[]) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: dir });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

test('domain add makes a DKIM key and prints its record; dkim generate, show and remove', async () => {
  const add = await petrel(['domain', 'add', 'example.com']);
  assert.equal(add.code, 0, add.err);
  assert.match(add.out, /^petrel\._domainkey\.example\.com\.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=MII/m);
  const keyFile = join(dir, 'data', 'dkim', 'example.com', 'petrel.pem');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.match(readFileSync(keyFile, 'utf8'), /BEGIN PRIVATE KEY/);
  const ed = await petrel(['dkim', 'generate', 'example.com', '--algorithm', 'ed25519', '--selector', 'ed1']);
  assert.equal(ed.code, 0, ed.err);
  assert.match(ed.out, /^ed1\._domainkey\.example\.com\.\t3600\tIN\tTXT\t"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$/m);
  const show = await petrel(['dkim', 'show', 'example.com']);
  assert.match(show.out, /petrel\._domainkey/);
  assert.match(show.out, /ed1\._domainkey/);
  for (const o of [add, ed, show]) assert.doesNotMatch(o.out + o.err, /PRIVATE KEY/, 'private keys are never printed');
  const again = await petrel(['dkim', 'generate', 'example.com', '--selector', 'ed1']);
  assert.equal(again.code, 1);
  assert.match(again.err, /already has a DKIM key with selector ed1/);
  const other = await petrel(['dkim', 'show', 'nowhere.test']);
  assert.equal(other.code, 1);
  assert.match(other.err, /not hosted here/);
  assert.equal((await petrel(['dkim', 'remove', 'example.com', 'ed1'])).code, 0);
  assert.doesNotMatch((await petrel(['dkim', 'show', 'example.com'])).out, /ed1\._domainkey/);
});

test('init prints the DKIM record of the first domain, made where the server will find it', async () => {
  const r = await petrel(['init', '--domain', 'init.test', '--hostname', 'mail.init.test', '--dir', join(dir, 'site')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /petrel\._domainkey\.init\.test\.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=/);
  assert.equal(statSync(join(dir, 'site', 'data', 'dkim', 'init.test', 'petrel.pem')).mode & 0o777, 0o600);
});

test('queue list, show, retry and delete', async () => {
  assert.match((await petrel(['queue', 'list'])).out, /the queue is empty/);
  const config = defaults();
  config.server.data_dir = join(dir, 'data');
  const app = await openApp(config, silentLogger);
  let id: string;
  try {
    id = await app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@remote.test', orcpt: 'rfc822;bob@remote.test' }, { address: 'carol@remote.test' }],
      raw: Buffer.from('From: alice@example.com\r\nSubject: queued for the CLI\r\n\r\nbody\r\n'),
      envId: 'E1',
    });
    // Pretend an attempt happened an hour ago and the next is far away.
    const [e] = await app.store.queue.lease('test', Date.now(), 60_000, 10);
    await app.store.queue.update(
      'test',
      e.recipients.map((r) => ({
        id: r.id,
        status: 'queued' as const,
        attempts: 1,
        nextAttempt: Date.now() + 3600_000,
        lastAttempt: Date.now(),
        lastReply: '451 4.3.0 try again later',
        lastStatus: '4.3.0',
        remoteMta: 'mx.remote.test',
        warned: false,
      })),
    );
  } finally {
    await app.close();
  }
  const list = await petrel(['queue', 'list']);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, new RegExp(`^${id} +\\d+ bytes +queued .* <alice@example\\.com>$`, 'm'));
  assert.match(
    list.out,
    /^ {4}bob@remote\.test {2}queued {2}attempts=1 {2}next in (59m|1h).* {2}451 4\.3\.0 try again later$/m,
  );
  const show = await petrel(['queue', 'show', id]);
  assert.match(show.out, /ENVID=E1/);
  assert.match(show.out, /ORCPT=rfc822;bob@remote\.test/);
  assert.match(show.out, /^ {4}Subject: queued for the CLI$/m);
  const retry = await petrel(['queue', 'retry', id]);
  assert.match(retry.out, /^2 recipients due now/);
  assert.match((await petrel(['queue', 'list'])).out, /bob@remote\.test {2}queued {2}attempts=1 {2}next [\dms ]+ ago/);
  const del = await petrel(['queue', 'delete', id]);
  assert.equal(del.code, 0);
  assert.match(del.out, /deleted/);
  const gone = await petrel(['queue', 'show', id]);
  assert.equal(gone.code, 1);
  assert.match(gone.err, /no queued message/);
  assert.match((await petrel(['queue', 'list'])).out, /the queue is empty/);
  assert.equal((await petrel(['queue', 'frob'])).code, 2);
});
