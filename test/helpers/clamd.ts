// A private ClamAV daemon (Debian clamav-daemon) for the antivirus tests: its own scratch directory, a TCP
// socket on a free loopback port and a Unix socket, and a signature database of the test's own (there is no
// internet here for freshclam, and no real malware belongs in a repository): an .ndb body signature
// matching the marker below anywhere in a decoded part.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clamdPing } from '../../src/spam/antivirus/clamd-client.ts';
import { freePort } from './peers.ts';

/** The test "virus": any decoded part containing it is infected. */
export const MARKER = 'PETREL-ANTIVIRUS-TEST-MARKER-3f1c9a';
/** What clamd names it (custom databases are "UNOFFICIAL"). */
export const VIRUS_NAME = 'Petrel.Test.Marker.UNOFFICIAL';

export interface Clamd {
  port: number;
  socket: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * `streamMaxLength`: clamd's StreamMaxLength (its own syntax, "10M", "64K"); 10 MB by default. `extra`: more
 * clamd.conf lines (e.g. "MaxThreads 1").
 */
export async function startClamd(
  clamdPath: string,
  opts: { streamMaxLength?: string; extra?: string[] } = {},
): Promise<Clamd> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-clamd-'));
  const db = join(dir, 'db');
  mkdirSync(db);
  writeFileSync(join(db, 'petrel.ndb'), `Petrel.Test.Marker:0:*:${Buffer.from(MARKER).toString('hex')}\n`);
  const port = await freePort();
  const socket = join(dir, 'clamd.sock');
  const conf = join(dir, 'clamd.conf');
  writeFileSync(
    conf,
    [
      'Foreground yes',
      `DatabaseDirectory ${db}`,
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      `LocalSocket ${socket}`,
      `LogFile ${join(dir, 'clamd.log')}`,
      `PidFile ${join(dir, 'clamd.pid')}`,
      `TemporaryDirectory ${dir}`,
      `StreamMaxLength ${opts.streamMaxLength ?? '10M'}`,
      'ScanMail yes',
      'ScanArchive yes',
      ...(opts.extra ?? []),
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(clamdPath, [`--config-file=${conf}`], { stdio: 'ignore' });
  const exited = new Promise((r) => proc.once('exit', r));
  const deadline = Date.now() + 60_000;
  while (!(await clamdPing({ host: '127.0.0.1', port }, 500))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      const log = (() => {
        try {
          return readFileSync(join(dir, 'clamd.log'), 'utf8').slice(-2000);
        } catch {
          return '';
        }
      })();
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`clamd did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port,
    socket,
    dir,
    async stop() {
      proc.kill();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
