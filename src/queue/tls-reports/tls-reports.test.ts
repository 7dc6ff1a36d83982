// TLS reporting grammar and classification: the "_smtp._tls" record (RFC 8460 section 3), result types of
// certificate failures (section 4.3.1), MTA-STS policies as policy strings (section 4.5).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tlsRptUris } from './reporter.ts';
import { certificateFailure, policyStrings } from './session.ts';

test('_smtp._tls records: exactly one v=TLSRPTv1 record; its rua URIs', () => {
  assert.deepEqual(tlsRptUris([['v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/x']]), [
    'mailto:a@example.com',
    'https://r.example.com/x',
  ]);
  assert.deepEqual(tlsRptUris([['v=TLSRPTv1;', 'rua=mailto:a@example.com'], ['v=spf1 -all']]), [
    'mailto:a@example.com',
  ]);
  assert.deepEqual(tlsRptUris([['v=TLSRPTv1; rua=mailto:a@x.example'], ['v=TLSRPTv1; rua=mailto:b@x.example']]), []);
  assert.deepEqual(tlsRptUris([['v=TLSRPTv1']]), []);
  assert.deepEqual(tlsRptUris([['rua=mailto:a@x.example; v=TLSRPTv1']]), []);
});

test('certificate failures: host mismatch, expiry, the rest not trusted', () => {
  assert.equal(
    certificateFailure(
      "Hostname/IP does not match certificate's altnames: Host: mx.example. is not in the cert's altnames",
    ),
    'certificate-host-mismatch',
  );
  assert.equal(certificateFailure('CERT_HAS_EXPIRED'), 'certificate-expired');
  assert.equal(certificateFailure('DEPTH_ZERO_SELF_SIGNED_CERT'), 'certificate-not-trusted');
  assert.equal(certificateFailure('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'certificate-not-trusted');
});

test('policy strings: the policy as its lines, each mx its own', () => {
  assert.deepEqual(policyStrings({ mode: 'testing', mx: ['a.example', '*.b.example'], maxAge: 604800 }), [
    'version: STSv1',
    'mode: testing',
    'mx: a.example',
    'mx: *.b.example',
    'max_age: 604800',
  ]);
});
