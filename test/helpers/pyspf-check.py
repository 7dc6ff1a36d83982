#!/usr/bin/python3
# pyspf (Debian python3-spf) as an independent SPF implementation for differential tests: reads JSON lines
# {"ip", "sender", "helo"} on stdin, asks the DNS server at 127.0.0.1:PORT (argv[1]) through dnspython,
# and prints one result per line (pass, fail, softfail, neutral, none, permerror, temperror, or
# exception:NAME where pyspf itself fails).
import json
import sys

import dns.resolver

res = dns.resolver.Resolver(configure=False)
res.nameservers = ['127.0.0.1']
res.port = int(sys.argv[1])
# pyspf queries through dnspython's module-level resolver (dns.resolver.query): make it ours.
dns.resolver.default_resolver = res

import spf  # noqa: E402 (after the resolver is in place)

for line in sys.stdin:
    if not line.strip():
        continue
    q = json.loads(line)
    # check2 with the RFC 7208 processing limits; 3 s per lookup so a silent name ends in temperror.
    try:
        result, _ = spf.check2(i=q['ip'], s=q['sender'], h=q['helo'], timeout=3, querytime=0)
    except Exception as e:  # a pyspf bug, reported as such rather than ending the run
        result = 'exception:' + type(e).__name__
    print(result, flush=True)
