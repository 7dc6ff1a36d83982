// A real DNSSEC-validating resolver for tests: zones signed by ldns-signzone, served and validated by a private Unbound.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { freePort } from './peers.ts';

const run = promisify(execFile);

export interface TestZone {
  /** The zone's name without the trailing dot, e.g. "dane.test". */
  name: string;
  /** Records besides SOA and NS, zone-file lines relative to the zone: "mx1 IN A 127.0.0.2". */
  records: string[];
  /** "secure" (default): signed, with a trust anchor in Unbound; "insecure": unsigned and domain-insecure. */
  dnssec?: 'secure' | 'insecure';
  /** Owner names (relative, as in `records`) whose signatures are spoiled after signing: Unbound finds
   *  their answers bogus and says SERVFAIL; the rest of the zone still validates. */
  bogus?: string[];
}

export interface Unbound {
  /** "127.0.0.1:PORT", what config dns.nameservers takes. */
  address: string;
  port: number;
  /** One question with DO set, as a DNSSEC-aware stub asks it: the rcode and whether AD came back. */
  query(name: string, type: dnsPacket.RecordType): Promise<{ rcode: string; ad: boolean; answers: number }>;
  /** What Unbound logged so far (validation failures at val-log-level 2). */
  log(): string;
  stop(): Promise<void>;
}

/** YYYYMMDDhhmmss in UTC, as ldns-signzone takes inception and expiration times. */
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\D/g, '').slice(0, 14);

/** Writes `zone` into `dir` (signed unless insecure); returns the file Unbound serves and its trust anchor. */
async function makeZone(dir: string, zone: TestZone): Promise<{ file: string; anchor: string | null }> {
  const origin = `${zone.name}.`;
  const file = join(dir, `${zone.name}.zone`);
  const text = [
    `$ORIGIN ${origin}`,
    '$TTL 300',
    `@ IN SOA ns1.${origin} hostmaster.${origin} 1 3600 600 86400 300`,
    `@ IN NS ns1.${origin}`,
    'ns1 IN A 127.0.0.1',
    ...zone.records,
  ];
  writeFileSync(file, text.join('\n') + '\n');
  if (zone.dnssec === 'insecure') return { file, anchor: null };
  const keygen = async (...flags: string[]) =>
    (await run('ldns-keygen', ['-a', 'ECDSAP256SHA256', ...flags, zone.name], { cwd: dir })).stdout.trim();
  const ksk = await keygen('-k');
  const zsk = await keygen();
  // An hour back and a day ahead: clock skew never makes the signatures not yet (or no longer) valid.
  const times = ['-i', stamp(Date.now() - 3600_000), '-e', stamp(Date.now() + 86400_000)];
  await run('ldns-signzone', [...times, '-o', origin, file, ksk, zsk], { cwd: dir });
  let signed = readFileSync(`${file}.signed`, 'utf8');
  const spoil = new Set((zone.bogus ?? []).map((n) => `${n}.${origin}`.toLowerCase()));
  signed = signed
    .split('\n')
    .map((line) => {
      const f = line.split(/\s+/);
      if (f[3] !== 'RRSIG' || !spoil.has(f[0].toLowerCase())) return line;
      // One base64 character of the signature changed: the data stays, the signature no longer verifies.
      const sig = f[f.length - 1];
      f[f.length - 1] = sig.slice(0, 8) + (sig[8] === 'A' ? 'B' : 'A') + sig.slice(9);
      return f.join(' ');
    })
    .join('\n');
  writeFileSync(`${file}.signed`, signed);
  return { file: `${file}.signed`, anchor: join(dir, `${ksk}.ds`) };
}

/** A port free for both TCP and UDP on 127.0.0.1. */
async function freeDnsPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const sock = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => sock.close(() => r()));
    if (ok) return port;
  }
}

function udpQuery(port: number, name: string, type: dnsPacket.RecordType, timeoutMs = 1000) {
  const id = Math.floor(Math.random() * 65_536);
  const packet = dnsPacket.encode({
    id,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer],
  });
  return new Promise<{ rcode: string; ad: boolean; answers: number }>((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => done(new Error(`no answer to ${type} ${name} from 127.0.0.1:${port}`)), timeoutMs);
    const done = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      if (err) return reject(err);
      const r = dnsPacket.decode(msg as Buffer) as dnsPacket.DecodedPacket & { rcode?: string };
      resolve({ rcode: r.rcode ?? '?', ad: r.flag_ad === true, answers: (r.answers ?? []).length });
    };
    sock.on('error', (e) => done(e));
    sock.on('message', (msg) => msg.readUInt16BE(0) === id && done(null, msg));
    sock.send(packet, port, '127.0.0.1');
  });
}

/**
 * Signs the zones and starts `unbound -d` on 127.0.0.1 serving them (auth-zone for upstream only, so every
 * answer goes through the validator); resolves once it answers for each zone. Everything lives in a scratch
 * directory removed by stop(); names outside the zones are refused, nothing is sent off this host.
 */
export async function startUnbound(opts: { zones: TestZone[]; unbound?: string }): Promise<Unbound> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-unbound-'));
  let child: ChildProcess | undefined;
  let output = '';
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freeDnsPort();
    const server = [
      'verbosity: 1',
      'val-log-level: 2',
      'interface: 127.0.0.1',
      `port: ${port}`,
      'do-ip4: yes',
      'do-ip6: no',
      'do-udp: yes',
      'do-tcp: yes',
      'num-threads: 1',
      'so-reuseport: no',
      'username: ""',
      'chroot: ""',
      `directory: "${dir}"`,
      'use-syslog: no',
      'logfile: ""',
      `pidfile: "${join(dir, 'unbound.pid')}"`,
      'access-control: 127.0.0.0/8 allow',
      'module-config: "validator iterator"',
      'do-not-query-localhost: no',
      'trust-anchor-signaling: no',
      'root-key-sentinel: no',
      // No root trust anchor and no recursion: "." (root hints and all) is refused; only our zones resolve.
      'local-zone: "." refuse',
    ];
    const auth: string[] = [];
    for (const zone of opts.zones) {
      const { file, anchor } = await makeZone(dir, zone);
      // "test." is one of Unbound's default static local zones (RFC 6761): let ours through.
      server.push(`local-zone: "${zone.name}." transparent`);
      server.push(anchor ? `trust-anchor-file: "${anchor}"` : `domain-insecure: "${zone.name}."`);
      auth.push(
        'auth-zone:',
        `  name: "${zone.name}."`,
        `  zonefile: "${file}"`,
        '  for-upstream: yes',
        '  for-downstream: no',
        '  fallback-enabled: no',
      );
    }
    const conf = join(dir, 'unbound.conf');
    const lines = ['server:', ...server.map((l) => `  ${l}`), 'remote-control:', '  control-enable: no', ...auth];
    writeFileSync(conf, lines.join('\n') + '\n');
    const proc = spawn(opts.unbound ?? 'unbound', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`unbound exited (${code}):\n${output}`))),
    );
    exited.catch(() => {});
    const deadline = Date.now() + 10_000;
    for (const zone of opts.zones) {
      for (;;) {
        const r = await Promise.race([udpQuery(port, zone.name, 'SOA', 300).catch(() => null), exited]);
        if (r?.rcode === 'NOERROR') break;
        if (Date.now() > deadline) throw new Error(`unbound does not answer for ${zone.name}:\n${output}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    return {
      address: `127.0.0.1:${port}`,
      port,
      query: (name, type) => udpQuery(port, name, type),
      log: () => output,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
