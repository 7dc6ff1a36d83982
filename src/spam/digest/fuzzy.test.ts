// Fuzzy digests: near-copies of a text share bands, unrelated texts do not, short texts have none, and the
// keys stay what they were (they are persisted and shared between nodes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FUZZY_BANDS, fuzzyDigests, fuzzyWords, isFuzzyDigest, MIN_WORDS, minHashes } from './fuzzy.ts';

const CAMPAIGN = (name: string, price: string, link: string, extra = '') =>
  `Dear ${name}, we are pleased to let you know that your account has been selected for our exclusive ` +
  `spring offer. For a limited time only you can order the complete premium package at the special price ` +
  `of ${price} instead of the usual price, with free delivery to your door and a full refund if you are ` +
  `not satisfied. Thousands of customers have already taken advantage of this offer and saved hundreds. ` +
  `To claim your discount simply follow the link below before the end of the week: ${link} ${extra}` +
  `This offer cannot be combined with other promotions. If you no longer wish to receive our special ` +
  `offers, reply with remove in the subject line and we will take you off our list within ten days.`;

const shared = (a: string[], b: string[]) => a.filter((k) => b.includes(k)).length;

test('copies with another name, price and tracking link share most bands', () => {
  const a = fuzzyDigests(CAMPAIGN('Alice', '$49.99', 'https://track.example/c/a81f3bd29e004c1d9f77'));
  const b = fuzzyDigests(CAMPAIGN('Robert', '$59.00', 'https://track.example/c/77d01a9cc3e24f8bb1a2'));
  assert.equal(a.length, FUZZY_BANDS);
  assert.ok(a.every(isFuzzyDigest));
  assert.ok(shared(a, b) >= 4, `${shared(a, b)} bands shared`);
  // A sentence added in the middle still leaves bands in common.
  const c = fuzzyDigests(
    CAMPAIGN('Carol', '$39', 'https://track.example/c/x', 'Call us today on the number in your brochure. '),
  );
  assert.ok(shared(a, c) >= 2, `${shared(a, c)} bands shared`);
});

test('unrelated texts share no band; the numbers in a text do not matter', () => {
  const a = fuzzyDigests(CAMPAIGN('Alice', '$49.99', 'https://track.example/c/1'));
  const minutes =
    'Minutes of the project meeting held on Tuesday. Present were the whole team except for the two ' +
    'members on holiday. The release is planned for the end of next month; the test plan was reviewed and ' +
    'accepted with two changes. The budget for the new build machines was approved. Action items: update ' +
    'the documentation, move the nightly jobs to the new machines, and invite the security team to the next ' +
    'review. The next meeting will be held in the small room on the second floor.';
  assert.equal(shared(a, fuzzyDigests(minutes)), 0);
  assert.deepEqual(fuzzyDigests(minutes.replace('two', '2')), fuzzyDigests(minutes.replace('two', '7')));
});

test('the share of equal MinHash values estimates the shingle sets’ similarity', () => {
  // 400 distinct words of letters only (digits would all read as "#").
  const letters = (n: number) =>
    String.fromCharCode(97 + (n % 26), 97 + (Math.floor(n / 26) % 26), 97 + Math.floor(n / 676));
  const words = Array.from({ length: 400 }, (_, i) => `w${letters((i * 7919) % 10000)}`);
  // Changing every 10th word changes 3 shingles of each 10: Jaccard (7/10 kept) = 7 / 13 ~ 0.54.
  const other = words.map((w, i) => (i % 10 === 0 ? `${w}y` : w));
  const a = minHashes(words.join(' '))!;
  const b = minHashes(other.join(' '))!;
  const equal = a.filter((v, i) => v === b[i]).length / a.length;
  assert.ok(equal > 0.3 && equal < 0.8, `estimated ${equal}`);
  assert.equal(minHashes(words.join(' '))!.join(), a.join(), 'deterministic');
});

test('a text under MIN_WORDS words has no fuzzy digests; tracking codes and one-letter words are no words', () => {
  const short = Array.from({ length: MIN_WORDS - 1 }, (_, i) => `word${i}`).join(' ');
  assert.deepEqual(fuzzyDigests(short), []);
  assert.equal(fuzzyDigests(`${short} more`).length, FUZZY_BANDS);
  assert.deepEqual(fuzzyWords('A b Order NOW a81f3bd29e004c1d9f77e2aa4b0c3d21 at 12.50'), [
    'order',
    'now',
    'at',
    '#',
    '#',
  ]);
});

test('the keys of a text do not change between versions (reports are persisted)', () => {
  // If this fails, the fuzzy digests changed: bump VERSION in fuzzy.ts, then update these keys.
  assert.deepEqual(fuzzyDigests(CAMPAIGN('Alice', '$49.99', 'https://track.example/c/1')), GOLDEN);
});

test('a megabyte of one word is read in linear time (the word cap)', { timeout: 10000 }, () => {
  assert.equal(fuzzyDigests('spam '.repeat(200_000)).length, FUZZY_BANDS);
  assert.equal(fuzzyDigests('a'.repeat(1_000_000)).length, 0);
});

const GOLDEN = [
  'fz1.0:032f25490074b80002efee8501d1e904',
  'fz1.1:0cae58c000b27da7045407bf007b41b4',
  'fz1.2:065dabd6044199e40282158c002ca564',
  'fz1.3:010d96d408463bd40030946a01a037b8',
  'fz1.4:02999879008435ad01c0bfc701584959',
  'fz1.5:01fbe5ee00653d1e0027bbd3012ae2ed',
  'fz1.6:02f8bc2e004ddab100137fcd002a6590',
  'fz1.7:0067359301b64e9b01879062030545f0',
];
