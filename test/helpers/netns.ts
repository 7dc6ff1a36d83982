// Runs a test file again inside a network namespace of its own (unshare -rn: no interface but a loopback
// nobody else sees), whose loopback also carries addresses of two IPv6 /64s, so a test can connect from
// several addresses of one client network, which the host's loopback (::1 only) cannot offer.
import { spawnSync } from 'node:child_process';
import { peer } from './peers.ts';

/** Set in the namespace: the test file is running inside it. */
export const IN_NETNS = process.env.PETREL_IN_NETNS === '1';
/** The server's address and the client addresses (documentation prefix 2001:db8::/32, RFC 3849). */
export const SERVER6 = '2001:db8:1:2::1';
/** Addresses of one /64 (the server's). */
export const SAME64 = ['2001:db8:1:2::a', '2001:db8:1:2::b', '2001:db8:1:2::c', '2001:db8:1:2::d'];
/** An address of another /64. */
export const OTHER64 = '2001:db8:1:3::a';

/** Why the namespace cannot be made here (a skip reason), or undefined. */
export function netnsSkip(): string | undefined {
  const skip = peer('unshare', 'util-linux').skip ?? peer('ip', 'iproute2').skip;
  if (skip) return skip;
  if (spawnSync('unshare', ['-rn', 'true'], { stdio: 'ignore' }).status === 0) return undefined;
  const reason = 'unshare -rn fails here (user namespaces disabled)';
  if (process.env.PETREL_TEST_REQUIRE_PEERS === '1') throw new Error(`required peer missing: ${reason}`);
  return reason;
}

/** Runs `node --test file` in a fresh namespace with the addresses above on its loopback. */
export function runInNetns(file: string, timeoutMs: number): { status: number | null; output: string } {
  // Not NODE_TEST_CONTEXT: with it the inner runner reports to ours in its own format and exits 0.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const addrs = [SERVER6, ...SAME64, OTHER64].map((a) => `ip addr add ${a}/64 dev lo nodad`).join(' && ');
  const r = spawnSync(
    'unshare',
    ['-rn', 'sh', '-c', `ip link set lo up && ${addrs} && exec "$0" --test "$1"`, process.execPath, file],
    { env: { ...env, PETREL_IN_NETNS: '1' }, encoding: 'utf8', timeout: timeoutMs },
  );
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}
