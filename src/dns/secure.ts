// DNS lookups that report their DNSSEC status, for DANE (RFC 7672 section 2.1): node's resolver hides the
// AD bit, so these few queries go out as our own packets (dns-packet) to the configured nameservers with AD
// and DO set, and the answer counts as "secure" only when the AD bit comes back from a resolver we trust.
import { createSocket } from 'node:dgram';
import { getServers } from 'node:dns';
import { connect, isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import { DnsError, toALabel } from './resolver.ts';
import { wellFormed } from './wire-check.ts';

export type SecureType = 'MX' | 'A' | 'AAAA' | 'TLSA' | 'CNAME' | 'TXT' | 'SRV';

export interface SecureRecord {
  /** Owner name, lower case, no trailing dot. */
  name: string;
  type: string;
  data: unknown;
}

export interface SecureAnswer {
  /** NXDOMAIN and NOERROR without records are answers (a denial), not errors. */
  rcode: 'NOERROR' | 'NXDOMAIN';
  /** The resolver validated the whole answer (AD bit) and we trust it to. */
  secure: boolean;
  records: SecureRecord[];
}

/** One DNSSEC-status query; SERVFAIL (also what a validating resolver answers for "bogus"), timeouts and
 *  malformed replies throw a TEMPFAIL DnsError. */
export type SecureLookup = (name: string, type: SecureType) => Promise<SecureAnswer>;

export interface SecureLookupOptions {
  /** As dns.nameservers: "ip", "ip:port", "[v6]:port"; empty means the system's. */
  nameservers: string[];
  timeoutMs: number;
  tries: number;
  /** Trust the AD bit from nameservers off this host too (dns.trust_ad). */
  trustAd: boolean;
}

interface Server {
  host: string;
  port: number;
}

export function parseNameserver(s: string): Server {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1], port: Number(v6[2] ?? 53) };
  if (isIP(s) === 6) return { host: s, port: 53 };
  const i = s.lastIndexOf(':');
  return i > 0 ? { host: s.slice(0, i), port: Number(s.slice(i + 1)) } : { host: s, port: 53 };
}

const isLoopback = (ip: string) => ip === '::1' || /^127\./.test(ip) || /^::ffff:127\./i.test(ip);

/**
 * RFC 4035 section 4.9.3 (quoted in RFC 7672 section 2.1.1): a stub may rely on validation done for it only
 * over a secure channel from a trusted resolver. We take "on this host" (loopback) as that channel; an AD bit
 * from anywhere else is believed only when the admin says so.
 */
export function adTrusted(servers: string[], trustAd: boolean): boolean {
  return trustAd || (servers.length > 0 && servers.every((s) => isLoopback(parseNameserver(s).host)));
}

const MAX_TCP = 65_535;

function queryPacket(name: string, type: SecureType): { id: number; packet: Buffer } {
  const id = Math.floor(Math.random() * 65_536);
  const packet = dnsPacket.encode({
    id,
    type: 'query',
    // RD, and AD: ask for the validation status (RFC 6840 section 5.7).
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
    questions: [{ type, name, class: 'IN' }],
    // EDNS0 with DO (RFC 3225): resolvers that answer AD only to DNSSEC-aware clients.
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer],
  });
  return { id, packet };
}

/** Whether `msg` answers our question: its id and its question section (RFC 5452 section 3). */
function answers(msg: Buffer, id: number, name: string, type: SecureType): boolean {
  if (msg.length < 12 || msg.readUInt16BE(0) !== id || !wellFormed(msg)) return false;
  try {
    const q = dnsPacket.decode(msg).questions?.[0];
    return q?.type === type && q.name.toLowerCase().replace(/\.$/, '') === name;
  } catch {
    return false;
  }
}

function udpQuery(
  server: Server,
  packet: Buffer,
  accept: (msg: Buffer) => boolean,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new Error('ETIMEOUT')), timeoutMs);
    const finish = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(msg as Buffer);
    };
    sock.on('error', (e) => finish(e));
    sock.on('message', (msg, rinfo) => {
      // Only the server asked, from the port asked, only an answer to our question (RFC 5452 section 3): a
      // spoofed or stray datagram is ignored and the wait goes on, so it can neither poison nor fail the lookup.
      if (rinfo.address !== server.host && !(isLoopback(rinfo.address) && isLoopback(server.host))) return;
      if (rinfo.port !== server.port) return;
      if (!accept(msg)) return;
      finish(null, msg);
    });
    sock.send(packet, server.port, server.host, (e) => e && finish(e));
  });
}

function tcpQuery(server: Server, packet: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => finish(new Error('ETIMEOUT')), timeoutMs);
    const finish = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(msg as Buffer);
    };
    sock.on('error', (e) => finish(e));
    sock.on('connect', () => {
      const framed = Buffer.alloc(2 + packet.length);
      framed.writeUInt16BE(packet.length, 0);
      packet.copy(framed, 2);
      sock.write(framed);
    });
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > MAX_TCP + 2) return finish(new Error('EBADRESP'));
      // RFC 1035 section 4.2.2: a two-byte length, then the message. Joined once it has all come (joined on
      // every piece, a server dripping one octet at a time cost the square of the answer's size).
      if (size < 2) return;
      if (chunks[0].length < 2) chunks.splice(0, chunks.length, Buffer.concat(chunks));
      const want = 2 + chunks[0].readUInt16BE(0);
      if (size >= want) finish(null, Buffer.concat(chunks).subarray(2, want));
    });
    sock.on('end', () => finish(new Error('ECONNRESET')));
  });
}

/** The DNSSEC-status lookup over the configured nameservers (tried in order, `tries` rounds). */
export function createSecureLookup(opts: SecureLookupOptions): SecureLookup {
  const configured = opts.nameservers.length ? opts.nameservers : getServers();
  const servers = configured.map(parseNameserver);
  const trusted = adTrusted(configured, opts.trustAd);
  return async (rawName, type) => {
    const name = toALabel(rawName);
    const what = `${type} ${name}`;
    let lastErr = 'no nameserver';
    for (let round = 0; round < opts.tries; round++) {
      for (const server of servers) {
        const { id, packet } = queryPacket(name, type);
        let reply: dnsPacket.DecodedPacket;
        try {
          let raw = await udpQuery(server, packet, (m) => answers(m, id, name, type), opts.timeoutMs);
          reply = dnsPacket.decode(raw);
          // Truncated (RFC 1035 section 4.2.1; TLSA and DNSSEC answers run long): the same question over TCP.
          if (reply.flag_tc) {
            raw = await tcpQuery(server, packet, opts.timeoutMs);
            if (!wellFormed(raw)) throw new Error('EBADRESP');
            reply = dnsPacket.decode(raw);
            // Still truncated: a part of the answer, which must not pass for all of it (an empty one for a
            // denial); one TCP try per server and round, so a server saying TC forever costs bounded time.
            if (reply.flag_tc) throw new Error('EBADRESP');
          }
        } catch (e) {
          lastErr = (e as Error).message;
          continue;
        }
        // Over TCP too, the answer must be to our question.
        const q = reply.questions?.[0];
        const sameQuestion = q?.type === type && q.name.toLowerCase().replace(/\.$/, '') === name;
        if (reply.id !== id || reply.type !== 'response' || !sameQuestion) {
          lastErr = 'EBADRESP';
          continue;
        }
        const rcode = (reply as { rcode?: string }).rcode ?? 'SERVFAIL';
        if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') {
          const records = (reply.answers ?? [])
            .filter((a) => a.type !== 'RRSIG' && a.type !== 'OPT')
            .map((a) => ({
              name: a.name.toLowerCase().replace(/\.$/, ''),
              type: a.type,
              data: (a as { data: unknown }).data,
            }));
          return { rcode, secure: trusted && reply.flag_ad === true, records };
        }
        // SERVFAIL is what a validating resolver says of a "bogus" answer; REFUSED/NOTIMP: try the next.
        lastErr = `E${rcode}`;
      }
    }
    throw new DnsError('TEMPFAIL', what, lastErr);
  };
}
