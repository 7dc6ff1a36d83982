// SRV and CNAME records for client discovery: RFC 6186 services with RFC 8314 priorities, public ports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaults } from '../config/load.ts';
import { formatRecords } from '../directory/dns-records.ts';
import { clientSetupRecords } from './dns-records.ts';
import { clientSetup } from './endpoints.ts';

test('SRV records: implicit TLS preferred, IMAP before POP3, the public ports; autoconfig and autodiscover names', async () => {
  const c = defaults();
  c.server.hostname = 'mx.example.org';
  const recs = await clientSetupRecords(clientSetup(c))('example.org');
  const srv = Object.fromEntries(recs.filter((r) => r.type === 'SRV').map((r) => [r.name, r.value]));
  assert.deepEqual(srv, {
    '_imaps._tcp.example.org.': '0 1 993 mx.example.org.',
    '_imap._tcp.example.org.': '10 1 143 mx.example.org.',
    '_pop3s._tcp.example.org.': '20 1 995 mx.example.org.',
    '_pop3._tcp.example.org.': '30 1 110 mx.example.org.',
    '_submissions._tcp.example.org.': '0 1 465 mx.example.org.',
    '_submission._tcp.example.org.': '10 1 587 mx.example.org.',
  });
  const cname = recs.filter((r) => r.type === 'CNAME').map((r) => `${r.name} ${r.value}`);
  assert.deepEqual(cname, ['autoconfig.example.org. mx.example.org.', 'autodiscover.example.org. mx.example.org.']);
  assert.match(formatRecords(recs), /_submissions\._tcp\.example\.org\.\t3600\tIN\tSRV\t0 1 465 mx\.example\.org\./);
});

test('a disabled listener is published as "not offered"; client_setup overrides host and ports', async () => {
  const c = defaults();
  c.listeners.pop3.enabled = false;
  c.client_setup.hostname = 'imap.example.org';
  c.client_setup.imaps_port = 10993;
  const recs = await clientSetupRecords(clientSetup(c))('example.org');
  const srv = Object.fromEntries(recs.filter((r) => r.type === 'SRV').map((r) => [r.name, r.value]));
  assert.equal(srv['_pop3._tcp.example.org.'], '0 0 0 .');
  assert.equal(srv['_imaps._tcp.example.org.'], '0 1 10993 imap.example.org.');
});
