// The greylisting triplet's keys: the sender as Postgrey substitutes it (BATV, SRS, VERP numbers,
// +extensions: what changes per message of one sender), and the client network (/24, /64).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientNet, senderKey } from './greylist.ts';

test('senderKey: the parts of an envelope sender that change per message are replaced', () => {
  const table: [string | null, string][] = [
    // BATV (draft-levine-smtp-batv-01 section 4.1), as IronPort and Exim write it, and Barracuda's.
    ['prvs=234d5777c=Ross.Lagerwall@citrix.com', 'ross.lagerwall@citrix.com'],
    ['prvs=9905c7c8d6=ms@dev.tdt.de', 'ms@dev.tdt.de'],
    ['btv1==3a0d7b1c88a==user@example.com', 'user@example.com'],
    // SRS0 and SRS1 (hash and day stamp change), with a BATV address inside, and SRS0 wrapped again.
    [
      'SRS0=Kjsf=5O=citrix.com=prvs=374a1453b=Andrew.Cooper3@srs-se1.protection.inumbo.net',
      'srs0=#=#=citrix.com=andrew.cooper3@srs-se1.protection.inumbo.net',
    ],
    ['SRS0=abcd=ZZ=grey.test=SRS0=efgh=YY=x.test=bob@fwd.test', 'srs0=#=#=grey.test=srs0=#=#=x.test=bob@fwd.test'],
    [
      'SRS1=HHH=orig.example==HHH=TT=domain.example=user@srs.example',
      'srs1=#=orig.example==#=#=domain.example=user@srs.example',
    ],
    // VERP numbers and +extensions (Postgrey's do_sender_substitutions).
    ['bounces-12345-alice=example.com@list.test', 'bounces-#-alice=example.com@list.test'],
    ['list+bounce-alice=example.com@list.test', 'list@list.test'],
    ['User2@Example.COM', 'user2@example.com'],
    // The null sender, and text that is not an address.
    ['', ''],
    [null, ''],
    ['postmaster', 'postmaster'],
  ];
  for (const [input, want] of table) assert.equal(senderKey(input), want, String(input));
});

test('clientNet: IPv4 by /24 (mapped too), IPv6 by /64', () => {
  assert.equal(clientNet('192.0.2.77'), '192.0.2.0/24');
  assert.equal(clientNet('::ffff:192.0.2.77'), '192.0.2.0/24');
  assert.equal(clientNet('2001:db8:1:2::a'), '2001:db8:1:2::/64');
  assert.equal(clientNet('2001:DB8:0001:0002:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientNet('2001:db8::1'), '2001:db8:0:0::/64');
});
