// The pure parts of DMARC aggregate reporting: rua URIs, record tags, outcomes and dispositions, XML text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedEvaluation } from '../../../test/helpers/dmarc.ts';
import { parseUri } from '../../reports/mailto.ts';
import { recordTags } from '../../reports/tags.ts';
import type { DmarcEvaluation } from './evaluation.ts';
import { failureWanted } from './failure.ts';
import { outcomeOf, publishedPolicy } from './outcome.ts';
import { reportXml } from './xml.ts';

const ev = (over: Partial<DmarcEvaluation> = {}): DmarcEvaluation => ({
  policyDomain: 'example.com',
  headerFrom: 'example.com',
  record: 'v=DMARC1; p=reject; rua=mailto:d@example.com',
  result: 'fail',
  policy: 'reject',
  testMode: false,
  dkimAligned: false,
  spfAligned: false,
  dkim: [],
  spf: { domain: 'example.com', result: 'fail' },
  ...over,
});
const facts = (enforced: boolean, trusted = false) => ({
  dmarc: { result: 'fail' as const, domain: 'example.com', policy: 'reject', enforced },
  arc: { result: 'pass' as const, sealer: trusted ? 'lists.example' : null, trusted },
});

test('rua URIs: mailto only, percent-decoded, size suffixes in k/m/g/t', () => {
  assert.deepEqual(parseUri('mailto:dmarc@example.com'), { address: 'dmarc@example.com', maxBytes: null });
  assert.deepEqual(parseUri(' MAILTO:d%2Bagg@example.com!10m '), { address: 'd+agg@example.com', maxBytes: 10485760 });
  assert.deepEqual(parseUri('mailto:d@example.com!500'), { address: 'd@example.com', maxBytes: 500 });
  assert.equal(parseUri('https://example.com/dmarc'), null);
  assert.equal(parseUri('mailto:not-an-address'), null);
  assert.equal(parseUri('mailto:a@b.example!10x'), null);
  assert.equal(parseUri('mailto:%E0%A4%A@example.com'), null);
});

test('record tags and the published policy: defaults for absent tags, sp/np/fo only when given', () => {
  assert.deepEqual(
    [...recordTags('v=DMARC1;p=quarantine; RUA = mailto:a@x.example ;;bad')],
    [
      ['v', 'DMARC1'],
      ['p', 'quarantine'],
      ['rua', 'mailto:a@x.example'],
    ],
  );
  assert.deepEqual(
    publishedPolicy(ev({ record: 'v=DMARC1; p=none; rua=mailto:a@example.com, mailto:b@example.com' })),
    {
      domain: 'example.com',
      p: 'none',
      adkim: 'r',
      aspf: 'r',
      testing: 'n',
      rua: ['mailto:a@example.com', 'mailto:b@example.com'],
    },
  );
  const full = publishedPolicy(
    ev({ record: 'v=DMARC1; p=reject; sp=none; np=quarantine; adkim=s; aspf=s; fo=1; t=y' }),
  );
  assert.deepEqual(
    [full.sp, full.np, full.adkim, full.aspf, full.fo, full.testing],
    ['none', 'quarantine', 's', 's', '1', 'y'],
  );
});

test('dispositions: the policy when applied, else none with the reason', () => {
  const o = (e: DmarcEvaluation, f: ReturnType<typeof facts>, action: 'accept' | 'junk' | 'reject') =>
    outcomeOf(e, f, action, '192.0.2.1', 'bounce@mail.example.com');
  assert.equal(o(ev({ result: 'pass', dkimAligned: true }), facts(true), 'accept').disposition, 'pass');
  assert.equal(o(ev(), facts(true), 'reject').disposition, 'reject');
  assert.equal(o(ev({ policy: 'quarantine' }), facts(true), 'junk').disposition, 'quarantine');
  assert.deepEqual(o(ev(), facts(false), 'accept').reasons, [{ type: 'local_policy' }]);
  assert.deepEqual(o(ev({ testMode: true }), facts(false), 'accept').reasons, [{ type: 'policy_test_mode' }]);
  assert.equal(o(ev(), facts(false, true), 'accept').reasons[0].type, 'trusted_forwarder');
  // A pass only through a DKIM signature with unsigned content after it (spam/checks/auth.ts): ours to fail.
  const partial = { ...facts(false), dmarc: { ...facts(false).dmarc, onPartialDkim: true } };
  assert.deepEqual(o(ev({ result: 'pass', dkimAligned: true }), partial, 'junk'), {
    ...o(ev({ result: 'pass', dkimAligned: true }), facts(false), 'junk'),
    disposition: 'none',
    reasons: [{ type: 'local_policy', comment: 'its aligned DKIM signature leaves part of the body unsigned (l=)' }],
  });
  // p=none: nothing was overridden, so no reason.
  assert.deepEqual(o(ev({ policy: 'none' }), facts(true), 'accept').reasons, []);
  const x = o(ev({ spfAligned: true, result: 'pass' }), facts(true), 'accept');
  assert.deepEqual([x.dkim, x.spf, x.envelopeFrom], ['fail', 'pass', 'mail.example.com']);
  assert.equal(outcomeOf(ev(), facts(true), 'reject', '192.0.2.1', '').envelopeFrom, '');
});

test('report XML: text from senders is escaped and characters XML forbids dropped', () => {
  const out = outcomeOf(ev(), facts(false), 'accept', '192.0.2.1', '');
  // U+FFFF, U+FFFE and a lone surrogate are outside XML 1.0's Char production (section 2.2) as C0 controls
  // are: one of them would make the whole report unreadable. Characters past U+FFFF are fine.
  out.reasons = [{ type: 'other', comment: '<b>&"x"\x01\uffff\ufffe\ud800</b>\u{1F600}' }];
  const xml = reportXml(
    {
      orgName: 'A & B <Mail>',
      email: 'r@example.com',
      reportId: '1.example.com@mx',
      begin: 0,
      end: 86399,
      generator: 'Petrel',
    },
    publishedPolicy(ev()),
    [{ outcome: out, count: 3 }],
  );
  assert.match(xml, /<org_name>A &amp; B &lt;Mail&gt;<\/org_name>/);
  assert.match(xml, /<comment>&lt;b&gt;&amp;&quot;x&quot;&lt;\/b&gt;\u{1F600}<\/comment>/u);
  assert.match(xml, /<count>3<\/count>/);
  assert.match(xml, /<envelope_from><\/envelope_from>/);
  assert.doesNotMatch(xml, /[\x01\uffff\ufffe]/);
  assert.ok(xml.isWellFormed(), 'no lone surrogate');
});

test('failure reports: fo=0 only when nothing aligned passed, 1 when anything failed, d and s by raw results', () => {
  const ev = (record: string, o: Partial<DmarcEvaluation> = {}) => failedEvaluation('a.test', record, o);
  assert.equal(failureWanted(ev('v=DMARC1; p=none')), true, 'fo=0 is the default');
  assert.equal(failureWanted(ev('v=DMARC1; p=none', { spfAligned: true, result: 'pass' })), false);
  assert.equal(failureWanted(ev('v=DMARC1; fo=1', { spfAligned: true, result: 'pass' })), true);
  assert.equal(failureWanted(ev('v=DMARC1; fo=1', { spfAligned: true, dkimAligned: true, result: 'pass' })), false);
  const badSig = { dkim: [{ domain: 'a.test', selector: 's', result: 'fail' as const }], spfAligned: true };
  assert.equal(failureWanted(ev('v=DMARC1; fo=d', { ...badSig, result: 'pass' })), true);
  assert.equal(failureWanted(ev('v=DMARC1; fo=s', { ...badSig, result: 'pass' })), false);
  assert.equal(
    failureWanted(ev('v=DMARC1; fo=d:s', { spf: { domain: 'a.test', result: 'fail' }, dkimAligned: true })),
    true,
  );
});
