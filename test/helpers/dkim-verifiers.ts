// Independent DKIM and ARC verifiers for what Petrel signs and seals, so that no test trusts mailauth (the
// library Petrel signs with) to judge its own output: Perl's Mail::DKIM (Debian libmail-dkim-perl; RSA
// only) and dkimpy (Debian python3-dkim with python3-nacl; RSA and Ed25519). Both read the message on stdin
// and the keys from the test's DNS server. A missing verifier skips the test (peer()).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { peer } from './peers.ts';
import { run } from './run.ts';

const MAIL_DKIM = join(import.meta.dirname, 'mail-dkim-verify.pl');
const DKIMPY = join(import.meta.dirname, 'dkimpy-verify.py');
/** Debian's own Python: the one python3-dkim installs into (a python3 earlier in PATH may lack it). */
const PYTHON = '/usr/bin/python3';

/** Perl with Mail::DKIM (DKIM and ARC verifiers) and Net::DNS. */
export function mailDkimPeer(): { skip: string | undefined } {
  return peer('perl', 'libmail-dkim-perl', [
    '-MMail::DKIM::Verifier',
    '-MMail::DKIM::ARC::Verifier',
    '-MNet::DNS',
    '-e1',
  ]);
}

/** Debian's python3 with dkimpy, PyNaCl and dnspython. */
export function dkimpyPeer(): { skip: string | undefined } {
  return peer(PYTHON, 'python3-dkim python3-nacl', ['-c', 'import dkim, nacl, dns.resolver']);
}

/** Mail::DKIM's verdicts: "dkim RESULT d=.. a=.. (detail)" per signature, top first, then "arc RESULT (detail)". */
export async function mailDkim(dnsPort: number, data: Buffer | string): Promise<string[]> {
  const r = await run('perl', [MAIL_DKIM, String(dnsPort)], { input: data });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

/** dkimpy's verdicts: "dkim pass|fail d=.. a=.." per signature, top first. */
export async function dkimpy(dnsPort: number, data: Buffer | string): Promise<string[]> {
  const r = await run(PYTHON, [DKIMPY, String(dnsPort)], { input: data });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}
