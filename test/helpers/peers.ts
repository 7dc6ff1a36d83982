// Real peer programs from Debian for differential tests: a private Dovecot (IMAP, POP3, LMTP) and a
// private Postfix, each on free loopback ports under a scratch directory, never touching /etc or systemd.
// A missing program skips the test with a clear message, or fails it when PETREL_TEST_REQUIRE_PEERS=1.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Finds a program; returns its path, or a skip reason (throws under PETREL_TEST_REQUIRE_PEERS=1). `probe`:
 * arguments the program must also run with successfully, for a module it needs (`perl -MMail::DKIM -e1`).
 */
export function peer(
  program: string,
  debianPackage: string,
  probe?: string[],
): { path: string | null; skip: string | undefined } {
  const r = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : null;
  if (path && (!probe || spawnSync(path, probe, { stdio: 'ignore' }).status === 0)) return { path, skip: undefined };
  const what = path ? `${program} ${probe!.join(' ')} fails` : `${program} not installed`;
  const reason = `${what} (apt-get install ${debianPackage}); PETREL_TEST_REQUIRE_PEERS=1 makes this fail`;
  if (process.env.PETREL_TEST_REQUIRE_PEERS === '1') throw new Error(`required peer missing: ${reason}`);
  return { path: null, skip: reason };
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function waitPort(port: number, host = '127.0.0.1', timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect({ port, host }, () => {
        c.destroy();
        r(true);
      });
      c.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing answers on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Dovecot {
  imapPort: number;
  pop3Port: number;
  lmtpPort: number;
  dir: string;
  /** Users user1..userN, password 'pass'. */
  users: number;
  stop(): Promise<void>;
}

const NOBODY = 65534;

/** Starts a private Dovecot 2.3 with its own config (`dovecot -c`); Maildir under dir/mail. Needs root. */
export async function startDovecot(opts: { users?: number; dir?: string } = {}): Promise<Dovecot> {
  const users = opts.users ?? 5;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'petrel-dovecot-'));
  const [imapPort, pop3Port, lmtpPort] = [await freePort(), await freePort(), await freePort()];
  // Dovecot's auth and mail processes run as other users: they must be able to traverse the scratch dir.
  chmodSync(dir, 0o755);
  const d = join(dir, 'dovecot');
  for (const p of ['run', 'state', 'log']) mkdirSync(join(d, p), { recursive: true });
  mkdirSync(join(dir, 'mail'), { recursive: true });
  chownSync(join(dir, 'mail'), NOBODY, NOBODY);
  const lines: string[] = [];
  for (let i = 1; i <= users; i++)
    lines.push(`user${i}:{PLAIN}pass:${NOBODY}:${NOBODY}::${join(dir, 'mail', `user${i}`)}`);
  writeFileSync(join(d, 'users'), lines.join('\n') + '\n', { mode: 0o644 });
  const conf = join(d, 'dovecot.conf');
  writeFileSync(
    conf,
    `instance_name = petrel-test-${imapPort}
base_dir = ${d}/run
state_dir = ${d}/state
log_path = ${d}/log/dovecot.log
info_log_path = ${d}/log/info.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 100
default_process_limit = 1200
default_client_limit = 12000
mail_max_userip_connections = 2000
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${d}/users
}
userdb {
  driver = passwd-file
  args = username_format=%n ${d}/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
}
protocol imap {
  mail_max_userip_connections = 2000
}
protocol pop3 {
  mail_max_userip_connections = 2000
}
`,
  );
  // stdio ignored: the daemon keeps inherited pipes open, and a sync spawn would wait on them forever.
  execFileSync('dovecot', ['-c', conf], { stdio: 'ignore' });
  await Promise.all([waitPort(imapPort), waitPort(pop3Port), waitPort(lmtpPort)]);
  return {
    imapPort,
    pop3Port,
    lmtpPort,
    dir,
    users,
    async stop() {
      const pidFile = join(d, 'run', 'master.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        try {
          process.kill(pid, 'SIGTERM');
        } catch {}
        for (let i = 0; i < 100; i++) {
          try {
            process.kill(pid, 0);
          } catch {
            break;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
