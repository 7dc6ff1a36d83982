#!/usr/bin/python3
# dkimpy (Debian python3-dkim, Ed25519 through python3-nacl) as a second independent DKIM verifier: reads a
# message on stdin, keys from the DNS server at 127.0.0.1:PORT (argv[1]); prints one line per
# DKIM-Signature, top first: "dkim pass|fail d=DOMAIN a=ALGO".
import sys
import dkim
import dkim.util
import dns.resolver

res = dns.resolver.Resolver(configure=False)
res.nameservers = ['127.0.0.1']
res.port = int(sys.argv[1])

def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    try:
        ans = res.resolve(name.rstrip('.'), 'TXT', lifetime=timeout)
    except Exception:
        return None
    return b''.join(b''.join(r.strings) for r in ans)

d = dkim.DKIM(sys.stdin.buffer.read())
sigs = [value for name, value in d.headers if name.lower() == b'dkim-signature']
if not sigs:
    print('dkim none')
for i, value in enumerate(sigs):
    ok = d.verify(idx=i, dnsfunc=dnsfunc)
    tags = dkim.util.parse_tag_value(value)
    print(f"dkim {'pass' if ok else 'fail'} d={tags[b'd'].decode()} a={tags[b'a'].decode()}")
