// Unit tests of the content helpers: URL extraction (HTML attributes, link texts, bare and obfuscated
// URLs), registered domains, look-alike skeletons, and zip central-directory inspection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildZip as zip } from '../../../test/helpers/zip.ts';
import { looksLike, mixedScript, mixedScriptWords, skeleton } from './confusables.ts';
import { normaliseHost, registeredDomain } from './domain.ts';
import { MAX_TAG, startTags } from './tags.ts';
import { extractUrls, hostShownIn, parseCandidate, unwrapRedirect, urlsFromHtml, urlsFromText } from './urls.ts';
import { listZip } from './zip.ts';

test('bare URLs in text, with obfuscations undone', () => {
  const hosts = urlsFromText(
    'Go to https://Shop.Example.COM/a?b=1, or www.deals.example.net. Also hxxps://evil[.]example[.]org/x and ' +
      'hxxp://bad(dot)example(dot)info/y and http://3232235777/ and example.biz/path but not file.pdf or a@b.example',
  ).map((u) => u.host);
  assert.deepEqual(hosts, [
    'shop.example.com',
    'www.deals.example.net',
    'evil.example.org',
    'bad.example.info',
    '192.168.1.1',
    'example.biz',
  ]);
});

test('HTML: href, src and form action, entity-encoded, with the link text', () => {
  const html =
    '<p>Hi <a href="http&#58;//login.example.com/&amp;x" class=x>www.bank.example</a> ' +
    "<img src='https://cdn.example.net/i.png'> <form action=https://collect.example.org/p></form>" +
    '<a href="mailto:x@y.example">mail</a> see https://text.example.info/</p>';
  const urls = urlsFromHtml(html);
  assert.deepEqual(
    urls.map((u) => [u.host, u.attr ?? '', u.text ?? null]),
    [
      ['login.example.com', 'href', 'www.bank.example'],
      ['cdn.example.net', 'src', null],
      ['collect.example.org', 'action', null],
      // Visible text is scanned too: the link text is a URL a reader sees.
      ['www.bank.example', '', null],
      ['text.example.info', '', null],
    ],
  );
  assert.equal(hostShownIn('www.bank.example'), 'www.bank.example');
  assert.equal(hostShownIn('https://paypal.com/login'), 'paypal.com');
  assert.equal(hostShownIn('Click here'), null);
  assert.equal(extractUrls({ plain: ['http://a.example.com/'], html: [html] }).length, 6);
});

test('hrefs as a browser reads them: HTML5 named references, tab and newline removed (WHATWG URL)', () => {
  const hosts = (html: string) => urlsFromHtml(html).map((u) => u.host);
  assert.deepEqual(hosts('<a href="https&colon;//login.evil&period;example&sol;x">x</a>'), ['login.evil.example']);
  assert.deepEqual(hosts('<a href="h&#9;ttps://login.evil.example/">x</a>'), ['login.evil.example']);
  assert.deepEqual(hosts('<a href="ht\r\ntps://login.evil.example/">x</a>'), ['login.evil.example']);
  assert.equal(parseCandidate('ht\ttps://a.example/', { source: 'text' })?.host, 'a.example');
  // An attribute's "&copy=" without ";" stays as written (HTML section 13.2.5.73): the query survives.
  assert.equal(urlsFromHtml('<a href="https://a.example/?x=1&copy=2">x</a>')[0].url, 'https://a.example/?x=1&copy=2');
});

test('link text: invisible format characters and the sentence punctuation after the name are not part of it', () => {
  assert.equal(hostShownIn('www.paypal\u200b.com'), 'www.paypal.com');
  assert.equal(hostShownIn('www.paypal.com.'), 'www.paypal.com');
  assert.equal(hostShownIn('https://paypal.com/login),'), 'paypal.com');
  // Brackets and quotes around the name.
  for (const text of ['[www.paypal.com]', '(www.paypal.com).', '<https://paypal.com/login>', '\u201cpaypal.com\u201d'])
    assert.match(hostShownIn(text) ?? '', /^(?:www\.)?paypal\.com$/, text);
  assert.equal(hostShownIn('help@paypal.com'), null, 'an address shows no site');
});

test('links rewritten by Safe Links and URL Defense lead to their target', () => {
  const target = 'https://www.google.com/maps/place/Berlin';
  const safe = `https://nam02.safelinks.protection.outlook.com/?url=${encodeURIComponent(target)}&data=05%7C01&reserved=0`;
  assert.equal(unwrapRedirect(safe), target);
  assert.equal(
    unwrapRedirect('https://urldefense.proofpoint.com/v2/url?u=https-3A__www.example.com_a-3Fb-3D1&d=DwMF&c=x'),
    'https://www.example.com/a?b=1',
  );
  assert.equal(
    unwrapRedirect('https://urldefense.com/v3/__https://www.example.com/a__;!!ABC!def$'),
    'https://www.example.com/a',
  );
  assert.equal(unwrapRedirect('https://safelinks.evil.example/?url=https://x.example/'), null);
  assert.equal(unwrapRedirect('https://www.example.com/?url=https://x.example/'), null);
  // Both the rewritten link and its target are found, the link text staying with the link as written.
  const urls = urlsFromHtml(`<a href="${safe}">${target}</a>`);
  assert.deepEqual(
    urls.map((u) => [u.host, u.text ?? null]),
    [
      ['nam02.safelinks.protection.outlook.com', target],
      ['www.google.com', null],
      ['www.google.com', null],
    ],
  );
});

test('start tags as a browser reads them: names, quoted values holding ">", stray quotes, duplicates', () => {
  const html =
    '<A HREF="x>y" title=\'a>b\'>one</A> <abbr title=t> <a\thref=z/> <img src=i.png> <a-b href=no> <1a> < a>' +
    '<a href="http://w.example/ target="_blank">stray</a> <a href=first href=second>' +
    `<a title="${'q'.repeat(MAX_TAG)}"><a href = 'spaced' / >`;
  const tags = [...startTags(html, new Set(['a', 'img']))].map((t) => [
    t.name,
    t.attributes.map((a) => `${a.name}=${a.value}`),
  ]);
  assert.deepEqual(tags, [
    ['a', ['href=x>y', 'title=a>b']],
    // An unquoted value runs to white space or ">": the "/" belongs to it.
    ['a', ['href=z/']],
    ['img', ['src=i.png']],
    // "<a-b" is a tag named "a-b", not "a"; a quote inside a value-less name is part of the name.
    ['a', ['href=http://w.example/ target=', '_blank"=']],
    ['a', ['href=first']],
    // The tag longer than MAX_TAG is skipped, and the scan goes on after it.
    ['a', ['href=spaced']],
  ]);
  // A value whose quote never closes ends nothing: the tag is skipped, what follows is still read.
  assert.deepEqual(
    [...startTags(`<a href="unclosed ${'x'.repeat(MAX_TAG)} <img src=later>`, new Set(['img']))].map(
      (t) => t.attributes,
    ),
    [[{ name: 'src', value: 'later' }]],
  );
});

test('hostile runs give the same answers as before, without quadratic scans', () => {
  // Each run is half a megabyte (under the 1 MB read per part); a scan retried from every position would
  // take minutes on these.
  const mb = (unit: string) => unit.repeat(Math.ceil((1 << 19) / unit.length));
  assert.deepEqual(
    urlsFromText(`${mb('a.')} see example.org/x`).map((u) => u.host),
    ['example.org'],
  );
  assert.deepEqual(urlsFromText(mb('a-')), []);
  assert.deepEqual(urlsFromHtml(`${mb('<a')}>`).length, 0);
  assert.deepEqual(
    urlsFromHtml(`${mb('<a ')}<a href="http://after.example/">t</a>`).map((u) => u.host),
    ['after.example'],
  );
  assert.deepEqual(urlsFromHtml(`<a href="http://x.example/">${mb('t')}`)[0].text?.length, 2000);
  // Trailing sentence punctuation is still dropped, however long the run.
  assert.equal(urlsFromText(`http://dots.example/path${'.'.repeat(100_000)}`)[0].url, 'http://dots.example/path');
  assert.equal(normaliseHost(`host.example${'.'.repeat(100_000)}`), 'host.example');
});

test('IDN hosts come out in punycode', () => {
  assert.deepEqual(
    urlsFromText('http://pаypal.com/ and https://bücher.example/').map((u) => u.host),
    ['xn--pypal-4ve.com', 'xn--bcher-kva.example'],
  );
});

test('registered domain from the public suffix list', () => {
  assert.equal(registeredDomain('a.b.example.co.uk'), 'example.co.uk');
  assert.equal(registeredDomain('WWW.Example.COM.'), 'example.com');
  assert.equal(registeredDomain('x.y.example.com.au'), 'example.com.au');
  assert.equal(registeredDomain('co.uk'), null);
  assert.equal(registeredDomain('192.0.2.1'), null);
  assert.equal(registeredDomain('mail.bücher.de'), 'xn--bcher-kva.de');
});

test('homoglyph skeletons', () => {
  assert.equal(skeleton('pаypal.com'), skeleton('paypal.com')); // Cyrillic а
  assert.ok(looksLike('xn--pypal-4ve.com', 'paypal.com'));
  assert.ok(looksLike('paypa1.com', 'paypal.com'));
  assert.ok(looksLike('rnicrosoft.com', 'microsoft.com'));
  assert.ok(looksLike('g00gle.com', 'google.com'));
  assert.ok(!looksLike('paypal.com', 'paypal.com'), 'the same name is no look-alike');
  assert.ok(!looksLike('example.com', 'paypal.com'));
  assert.ok(mixedScript('xn--pypal-4ve.com'));
  assert.ok(!mixedScript('bücher.example'));
});

test('words mixing Latin with Cyrillic or Greek letters', () => {
  assert.deepEqual(mixedScriptWords('Dear Pаypal user, vеrify now', 10), ['Pаypal', 'vеrify']);
  assert.deepEqual(mixedScriptWords('plain English text', 10), []);
  assert.deepEqual(mixedScriptWords('Привет мир and hello', 10), [], 'each word in one script');
  assert.deepEqual(mixedScriptWords('αβγ abc', 10), []);
  // A Greek letter no one reads as Latin is ordinary writing (units); capitals that do look Latin count.
  assert.deepEqual(mixedScriptWords('Vitamin D3 25μg, resistor 10kΩ', 10), []);
  assert.deepEqual(mixedScriptWords('Your РayPal account', 10), ['РayPal']);
  assert.equal(mixedScriptWords('Pаypal '.repeat(50), 3).length, 3, 'bounded');
});

test('zip central directory: names, encrypted flag; damaged archives still listed', () => {
  const z = zip([
    { name: 'readme.txt', data: Buffer.from('hello') },
    { name: 'dir/setup.exe', data: Buffer.from('MZ...'), encrypted: true },
  ]);
  assert.deepEqual(listZip(z), {
    entries: [
      { name: 'readme.txt', encrypted: false, size: 5 },
      { name: 'dir/setup.exe', encrypted: true, size: 5 },
    ],
    damaged: false,
  });
  // Cut off the central directory: the local headers are walked instead.
  const cut = z.subarray(0, 60);
  const listed = listZip(cut);
  assert.equal(listed?.damaged, true);
  assert.equal(listed?.entries[0].name, 'readme.txt');
  assert.equal(listZip(Buffer.from('not a zip at all, just text that is long enough')), null);
});
