// The [spam] sub-sections of the content scan and checks, digests and reputation (spam.uribl, spam.ebl, spam.phishing,
// spam.scan, spam.attachments, spam.headers, spam.pyzor, spam.digests, spam.reputation, spam.antivirus, spam.lists, spam.replies); spread into schema.ts.
// Scores are integers here; spam.weights ("SYMBOL=score") overrides any symbol, fractions allowed.
import { bool, duration, int, list, oneOf, section, size, str } from './define.ts';

const policy = (def: 'reject' | 'score' | 'off', what: string) =>
  oneOf(['reject', 'score', 'off'] as const, def, `${what}: refuse the message (550 5.7.1), add the score, or ignore.`);

export const contentSections = {
  scan: section(
    'The content scan (Bayes tokens, links, forms, attachments, digests): on worker threads, each message under a hard time limit, so no message can hold the server.',
    {
      workers: int(0, 'Worker threads scanning content (0: one per CPU core, at least 2, at most 4).', {
        min: 0,
        max: 64,
      }),
      timeout_ms: int(
        2000,
        'Longest scan of one message; past it the worker is stopped (and replaced) and the checks that read the scan score nothing.',
        { min: 1 },
      ),
      failure_score: int(
        3,
        'Score of CONTENT_SCAN_TIMEOUT / CONTENT_SCAN_FAIL, added when a scan does not finish (time limit, worker out of memory): such content is suspect, and must not pass as clean.',
      ),
      max_memory_mb: int(512, 'Heap limit of each scan worker; a scan that needs more fails (CONTENT_SCAN_FAIL).', {
        min: 32,
      }),
      max_queue: int(
        64,
        'Scans waiting for a free worker at most; a message from the internet that finds the queue full is deferred (451 4.7.1, CONTENT_SCAN_BUSY: the sender retries), and a message learned from (a Junk move) is not learned. 0: no scan waits.',
        { min: 0 },
      ),
    },
  ),
  uribl: section(
    'URI blocklists: registered domains of the links in a message (and of its senders) looked up as <domain>.<zone>.',
    {
      enabled: bool(true, 'Look up link domains in the zones below (needs the network; off in `petrel spam check`).'),
      zones: list(
        [],
        'Zones as "zone SYMBOL[:score] [mask:SYMBOL[:score] | 127.x.y.z:SYMBOL[:score] ...]": an answer whose last octet has a mask bit set (or equals the address) adds that symbol, any other answer the first one.',
        {
          production: [
            // SURBL and URIBL answer 127.0.0.1 when they refuse a query (rspamd's SURBL_BLOCKED, URIBL_BLOCKED).
            'multi.surbl.org SURBL_MULTI 1:SURBL_BLOCKED:0 8:SURBL_PH:6 16:SURBL_MW:8 64:SURBL_ABUSE:5 128:SURBL_CR:5',
            'multi.uribl.com URIBL_MULTI 1:URIBL_BLOCKED:0 2:URIBL_BLACK:7 4:URIBL_GREY:2 8:URIBL_RED:2',
            'dbl.spamhaus.org DBL 127.0.1.2:DBL_SPAM:6 127.0.1.4:DBL_PHISH:7 127.0.1.5:DBL_MALWARE:8 127.0.1.255:DBL_BLOCKED:0',
          ],
        },
      ),
      score: int(5, 'Score of a listing whose symbol names no score of its own.'),
      sender_domains: bool(
        true,
        'Also look up the registered domains of the envelope sender, From, Reply-To and the HELO name, as Spamhaus advises for its DBL (looked up first, within max_domains; further From or Reply-To domains after the links).',
      ),
      max_domains: int(20, 'Distinct registered domains looked up per message.', { min: 1, max: 200 }),
      timeout_ms: int(2000, 'Time allowed for all lookups of one message.', { min: 100 }),
    },
  ),
  ebl: section(
    'E-mail address blocklists (MSBL EBL, SpamAssassin HashBL style): the addresses a message gives for replies (Reply-To, From, the envelope sender, the body text and mailto: links), hashed and looked up as <hash>.<zone>.',
    {
      enabled: bool(true, 'Look up addresses in the zones below (needs the network; off in `petrel spam check`).'),
      zones: list(
        [],
        'Zones as "zone SYMBOL[:score] [hash=sha1|md5|sha256] [mask:SYMBOL[:score] | 127.x.y.z:SYMBOL[:score] ...]": the address lower-cased, any +tag dropped (a Gmail address also its dots, googlemail.com read as gmail.com), hashed (sha1 by default) in hex; an answer in 127.0.0.0/8 adds the symbol, as for spam.uribl.zones.',
        { production: ['ebl.msbl.org MSBL_EBL:5'] },
      ),
      score: int(4, 'Score of a listing whose symbol names no score of its own.'),
      max_addresses: int(
        10,
        'Distinct addresses looked up per message (the first Reply-To and From and the envelope sender first, then the body, then further Reply-To and From mailboxes).',
        {
          min: 1,
          max: 20,
        },
      ),
      timeout_ms: int(2000, 'Time allowed for all lookups of one message.', { min: 100 }),
    },
  ),
  phishing: section('Phishing heuristics: impersonation, deceptive links, look-alike domains, credential forms.', {
    enabled: bool(true, 'Run the phishing heuristics.'),
    protected_brands: list(
      [
        'paypal=paypal.com,paypal.me,paypal.de,paypal.co.uk,paypal.fr,paypal.it,paypal.es,paypal.nl,paypal.com.au,paypal.ca',
        'apple=apple.com,icloud.com',
        'microsoft=microsoft.com,outlook.com,office.com,live.com,microsoftonline.com,office365.com,aka.ms',
        'amazon=amazon.com,amazon.de,amazon.co.uk,amazonses.com,amzn.to',
        'netflix=netflix.com',
        'dhl=dhl.com,dhl.de',
      ],
      'Brands as "name=domain,domain": a display name naming the brand on mail from any other domain is suspect, and link text showing one of its domains may link to any other of them. A brand\'s own short-link domains (amzn.to, aka.ms) belong here; open shorteners (bit.ly, t.co, lnkd.in, ...) lead anywhere and are ignored if listed.',
    ),
    well_known_domains: list(
      [
        'paypal.com',
        'apple.com',
        'microsoft.com',
        'google.com',
        'gmail.com',
        'amazon.com',
        'facebook.com',
        'netflix.com',
        'dhl.com',
        'linkedin.com',
      ],
      'Domains (besides our own) whose look-alikes (homoglyphs, punycode) are flagged.',
    ),
    impersonation_score: int(
      5,
      'PHISH_LOCAL_IMPERSONATION / PHISH_BRAND_IMPERSONATION: display name claims us or a brand.',
    ),
    display_address_score: int(3, 'PHISH_DISPLAY_ADDRESS: display name holds an address of another domain.'),
    lookalike_score: int(6, 'PHISH_LOOKALIKE_DOMAIN: From or a link domain looks like ours or a well-known one.'),
    mixed_script_score: int(3, 'PHISH_MIXED_SCRIPT: a domain label mixes Latin with Cyrillic or Greek.'),
    mixed_script_text_score: int(
      3,
      'PHISH_MIXED_SCRIPT_TEXT: a word of the Subject or the From display name, or three of the body, mix Latin with Cyrillic or Greek letters ("Pаypal").',
    ),
    link_mismatch_score: int(3, 'PHISH_LINK_MISMATCH: link text shows one domain, the link goes to another.'),
    credential_form_score: int(4, 'PHISH_CREDENTIAL_FORM: an HTML form asking for a password or card data.'),
    link_to_ip_score: int(
      2,
      'PHISH_LINK_TO_IP: a link or image points at a bare IP address (any spelling: dotted, hex, decimal).',
    ),
    link_userinfo_score: int(
      3,
      'PHISH_LINK_USERINFO: a link with a user part before its host ("https://bank.example@evil.example/").',
    ),
  }),
  attachments: section(
    'Dangerous attachments, by kind; a file inside an archive (zip, RAR, 7z, tar, gzip) counts like one outside.',
    {
      enabled: bool(
        true,
        'Inspect attachments (names, magic bytes, the file lists of zip, RAR, 7z, tar and gzip archives).',
      ),
      executable_extensions: list(
        [
          'exe',
          'scr',
          'com',
          'pif',
          'bat',
          'cmd',
          'vbs',
          'vbe',
          'js',
          'jse',
          'wsf',
          'wsh',
          'hta',
          'msi',
          'cpl',
          'jar',
          'lnk',
          'ps1',
          'reg',
          'dll',
          'iso',
          'img',
          // Disk images, help files, Excel add-ins, console snap-ins and app packages: each a recent
          // malware carrier, on Microsoft Defender for Office 365's default blocked-attachment list.
          'vhd',
          'vhdx',
          'chm',
          'xll',
          'msc',
          'msix',
          'appx',
          'appinstaller',
          'scf',
          'sct',
          'wsc',
          'msp',
          'mst',
          'jnlp',
          'apk',
          // The rest of Gmail's list of refused attachments (modules, drivers, installers, cabinets and
          // disk images no one mails), and what Outlook blocks besides: Internet shortcuts (DarkGate's
          // .url, CVE-2024-21412), ClickOnce and browser apps, help and setup files, PowerShell data.
          'ade',
          'adp',
          'appxbundle',
          'msixbundle',
          'cab',
          'diagcab',
          'diagcfg',
          'diagpkg',
          'dmg',
          'ins',
          'isp',
          'lib',
          'mde',
          'mjs',
          'nsh',
          'shb',
          'sys',
          'vb',
          'vxd',
          'url',
          'website',
          'application',
          'gadget',
          'xbap',
          'hlp',
          'inf',
          'ps1xml',
          'psc1',
          'psm1',
          'psd1',
          // Excel web queries and SYLK sheets (Necurs, Trickbot: they fetch and run remote content), Windows
          // settings and library shortcuts (settingcontent-ms ran commands; library-ms leaks NTLM, CVE-2025-24054).
          'iqy',
          'slk',
          'settingcontent-ms',
          'library-ms',
        ],
        'File name extensions treated as executable.',
      ),
      executable: policy('reject', 'ATTACH_EXECUTABLE (executable by extension or by magic bytes: MZ, ELF, Mach-O)'),
      executable_score: int(8, 'Score of ATTACH_EXECUTABLE under policy "score".'),
      double_extension: policy('reject', 'ATTACH_DOUBLE_EXTENSION (e.g. invoice.pdf.exe)'),
      double_extension_score: int(8, 'Score of ATTACH_DOUBLE_EXTENSION under policy "score".'),
      macro: policy(
        'score',
        'ATTACH_MACRO (.docm/.xlsm/.pptm..., an OOXML file declaring a VBA project or Excel 4 macro sheets, or a .doc/.xls/.ppt with a VBA project, in a zip too)',
      ),
      macro_score: int(4, 'Score of ATTACH_MACRO under policy "score".'),
      rtf_object: policy(
        'score',
        'ATTACH_RTF_OBJECT (an RTF document, by its content whatever its name, holding an embedded or linked OLE object: the Equation Editor and OLE2Link exploits)',
      ),
      rtf_object_score: int(3, 'Score of ATTACH_RTF_OBJECT under policy "score".'),
      encrypted_archive: policy(
        'score',
        'ATTACH_ENCRYPTED_ARCHIVE (password-protected zip, RAR or 7z, or one whose list of files is encrypted, or a password-protected Office document)',
      ),
      encrypted_archive_score: int(4, 'Score of ATTACH_ENCRYPTED_ARCHIVE under policy "score".'),
      html: policy(
        'score',
        'ATTACH_HTML (an HTML or SVG file: .htm, .html, .shtml, .svg, ..., or text/html sent as an attachment)',
      ),
      html_score: int(1, 'Score of ATTACH_HTML under policy "score".'),
      html_active: policy(
        'score',
        'ATTACH_HTML_ACTIVE (an HTML or SVG attachment with a password or card field, a script that decodes text, changes location or saves a file it builds, a data: URL offered as a link or frame, or a meta refresh: a phishing page or HTML smuggling carried as a file)',
      ),
      html_active_score: int(5, 'Score of ATTACH_HTML_ACTIVE under policy "score" (added to ATTACH_HTML).'),
    },
  ),
  headers: section(
    'Header anomalies: missing or odd Date and Message-ID, forged Received, Reply-To and From oddities.',
    {
      enabled: bool(true, 'Check the header anomalies.'),
      future_hours: int(
        24,
        'A Date more than this many hours ahead of the topmost Received time (or now) is HDR_DATE_FUTURE.',
        { min: 1 },
      ),
      past_days: int(60, 'A Date more than this many days old is HDR_DATE_PAST.', { min: 1 }),
      duplicate_from: oneOf(
        ['reject', 'score'] as const,
        'reject',
        'A message with two or more From fields (HDR_FROM_DUPLICATE; RFC 5322 section 3.6 allows one): "reject" refuses it (550 5.7.1), as Gmail does, since a filter may judge one From while the reader sees another; "score" adds its score.',
      ),
      freemail_domains: list(
        [
          'gmail.com',
          'googlemail.com',
          'yahoo.com',
          'outlook.com',
          'hotmail.com',
          'live.com',
          'aol.com',
          'gmx.com',
          'gmx.de',
          'mail.ru',
          'yandex.ru',
          'proton.me',
          'protonmail.com',
          'icloud.com',
          'qq.com',
          '163.com',
        ],
        'Free mail providers: a Reply-To at one of these on mail from another domain is HDR_REPLYTO_FREEMAIL; an authenticated From at one of these does not vouch for links showing its site (PHISH_LINK_MISMATCH).',
      ),
      scores: list(
        [
          'HDR_MISSING_DATE=1',
          'HDR_BAD_DATE=1',
          'HDR_DATE_FUTURE=2',
          'HDR_DATE_PAST=1',
          'HDR_MISSING_MESSAGE_ID=1',
          'HDR_BAD_MESSAGE_ID=1',
          'HDR_MISSING_FROM=3',
          'HDR_FROM_MULTIPLE=2',
          'HDR_FROM_DUPLICATE=5',
          'HDR_DUPLICATE_FIELD=2',
          'HDR_REPLYTO_DIFFERENT_DOMAIN=0',
          'HDR_REPLYTO_FREEMAIL=2',
          'HDR_RECEIVED_FORGED_LOCAL=4',
          'HDR_RECEIVED_TIME_INCONSISTENT=1',
        ],
        'Scores of the header anomaly symbols, "SYMBOL=score".',
      ),
    },
  ),
  pyzor: section('Pyzor: the collaborative digest network (UDP); digests are computed as Pyzor computes them.', {
    enabled: bool(true, 'Check body digests against the servers below (needs the network).'),
    servers: list([], 'Servers as "host:port".', { production: ['public.pyzor.org:24441'] }),
    username: str('anonymous', 'Pyzor account name (the anonymous account may check and report).'),
    key: str('', 'Pyzor account key ("salt,key" as in the accounts file, or the key alone).', { secret: true }),
    timeout_ms: int(3000, 'Time allowed for one query.', { min: 100 }),
    min_count: int(5, 'PYZOR_CHECK when a server counts at least this many spam reports...', { min: 1 }),
    whitelist_ratio: int(5, '...and fewer whitelist reports than count / this number.', { min: 1 }),
    score: int(3, 'Score of PYZOR_CHECK.'),
    report: bool(false, 'Report digests of what users mark as spam (whitelist what they mark as ham) to the servers.'),
  }),
  digests: section("Petrel's own digest store: body and attachment digests users reported, shared by every node.", {
    enabled: bool(true, 'Count user reports per digest and check messages against the counts.'),
    min_reports: int(
      3,
      'Reports of one class needed before a digest scores (each account counts once per digest; each spam trap hit counts).',
      { min: 1 },
    ),
    half_life_days: int(
      14,
      'Reports lose half their weight after this many days, as sender reputation evidence does (min_reports counts what is left, to the nearest whole report).',
      { min: 1 },
    ),
    spam_score: int(5, 'DIGEST_SPAM: a digest mostly reported as spam.'),
    ham_score: int(-2, 'DIGEST_HAM: a digest mostly reported as not spam.'),
    fuzzy: bool(
      true,
      'Fuzzy digests too: messages like reported ones (the same campaign with another name, link or price in it; texts of 30 words or more) score FUZZY_SPAM / FUZZY_HAM.',
    ),
    fuzzy_min_bands: int(
      2,
      'Bands of the 8 in a fuzzy digest that must each have min_reports of one class (at 2, a copy sharing 80% of its 3-word phrases with reported ones matches 9 times in 10; unrelated texts practically never).',
      { min: 1, max: 8 },
    ),
    fuzzy_spam_score: int(4, 'FUZZY_SPAM: a message like ones mostly reported as spam.'),
    fuzzy_ham_score: int(-1, 'FUZZY_HAM: a message like ones mostly reported as not spam.'),
  }),
  reputation: section('Sender reputation: decaying spam/ham evidence per IP, network, domain, DKIM domain, address.', {
    enabled: bool(true, 'Record and use sender reputation.'),
    half_life_days: int(14, 'Evidence loses half its weight after this many days.', { min: 1 }),
    min_observations: int(
      5,
      'Observations of a sender before its reputation scores (new senders score nothing); they fade as its evidence does (half_life_days), so a sender unseen for long is new again.',
      {
        min: 1,
      },
    ),
    user_weight: int(5, 'Weight of a user judgement (moving to/from Junk) against 1 for a verdict.', { min: 1 }),
    learn_verdicts: bool(
      true,
      'Record the pipeline verdicts too (spam for junk/reject; a clean accept is ham only as far as its score is below zero, so bland mail in volume buys no trust).',
    ),
    weights: list(
      ['ip=3', 'net=2', 'domain=3', 'dkim=4', 'from=2'],
      'Largest score per kind ("kind=score"): a sender with only spam scores +score, only ham -score.',
    ),
  }),
  antivirus: section(
    "Virus scanning by ClamAV's daemon (clamd): each message from the internet (and, with scan_submission, from our own users) is streamed to it whole (clamd decodes MIME and archives); off by default.",
    {
      enabled: bool(false, 'Scan messages with clamd (Debian: apt-get install clamav-daemon).'),
      clamd: str(
        '/run/clamav/clamd.ctl',
        'Where clamd listens: a Unix socket path (Debian\'s default) or "host:port" (its TCPSocket/TCPAddr); a host name is looked up through [dns], except localhost (this host).',
      ),
      action: oneOf(
        ['reject', 'junk', 'score'] as const,
        'reject',
        'A virus found (VIRUS_FOUND): refuse the message (550 5.7.1), deliver it to Junk, or only add the score.',
      ),
      score: int(10, 'Score of VIRUS_FOUND.'),
      on_error: oneOf(
        ['defer', 'accept'] as const,
        'defer',
        'clamd down, failing or past timeout_ms: defer the message (451 4.7.1; the sender retries) or accept it unscanned (ANTIVIRUS_FAIL, score 0).',
      ),
      scan_submission: bool(
        true,
        'Scan what authenticated users and smtp.trusted_networks send too (an infected message is refused with 554 5.7.1 before it is queued).',
      ),
      timeout_ms: int(
        4000,
        "Longest scan of one message (keep it within the first four fifths of spam.timeout_ms, the first stage's share).",
        { min: 100 },
      ),
      max_size: size(
        25 * 1024 * 1024,
        "Messages larger than this many octets are not sent to clamd (ANTIVIRUS_SKIPPED); keep it at most clamd's StreamMaxLength (25M in Debian's clamd.conf): a message clamd refuses as longer is skipped too, with a warning.",
        { min: 1024 },
      ),
    },
  ),
  lists: section(
    'Allow and block lists kept in the store (`petrel spam allow|block`): for every recipient or one account.',
    {
      enabled: bool(true, 'Check senders against the lists.'),
      allow_score: int(
        -20,
        'ALLOWLISTED: the client IP, or an authenticated sender address or domain, is on an allow list.',
      ),
      block_score: int(20, 'BLOCKLISTED: the client IP, envelope sender or From is on a block list.'),
      block_action: oneOf(
        ['reject', 'junk'] as const,
        'reject',
        "A blocked sender: refused (550 5.7.1; for one account's list, its copy goes to Junk unless every recipient blocks) or delivered to Junk.",
      ),
      user_max_entries: int(
        500,
        'Entries each user may keep on their own lists, edited on the web at /account/spam (sender addresses and domains only); 0: users cannot edit their lists.',
        { min: 0 },
      ),
    },
  ),
  traps: section(
    'Spam traps: addresses no person uses. Mail from the internet to one is accepted, stored nowhere, and learned as spam.',
    {
      addresses: list(
        [],
        'Trap addresses as "user@domain" (its +tags too) or "@domain" (the domain and its subdomains, hosted here or only pointing its MX here). A trap wins over an account or alias of the same address.',
      ),
      score: int(
        6,
        'SPAMTRAP: the score the other recipients of a message that also went to a trap see (6: Junk by default, never refused alone).',
      ),
      client_score: int(
        3,
        "SPAMTRAP_CLIENT: a client IP that sent to a trap within client_memory, on its other mail (a spam run reaches traps and people alike); not on mail DMARC or aligned DKIM authenticates, which a big provider's shared servers send.",
      ),
      client_memory: duration('2d', 'How long a client IP that sent to a trap is remembered ("0": not at all).'),
      learn_per_hour: int(
        100,
        'Trapped messages learned per client IP and hour at most (a flood into a trap must not turn into a flood of writes; the rest is still trapped). 0: no limit.',
        { min: 0 },
      ),
      learn: list(
        ['bayes', 'reputation', 'digests'],
        'What a trapped message teaches as spam: the global Bayes table and the digest store (as a user moving it into Junk would), the reputation of the client IP, its network and passing DKIM domains (as one verdict; not the sender domains and address, which anyone can claim). [] teaches nothing.',
      ),
    },
  ),
  gtube: section('GTUBE, the standard test string of spam filters (SpamAssassin, rspamd, Stalwart).', {
    enabled: bool(
      true,
      'A message whose text contains XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X scores GTUBE (1000) and is refused: for testing the setup.',
    ),
  }),
  outbound: section(
    'The outbound scan: what our own users and trusted networks submit goes through the content checks (links, URI and e-mail address blocklists, phishing, attachments, digests, Pyzor, the global Bayes table, GTUBE) before it is queued.',
    {
      enabled: bool(
        false,
        'Scan submitted mail and refuse (554 5.7.1, with a warning in the log naming the account) what scores reject_score: a stolen password then spams nobody in our name.',
        { production: true },
      ),
      reject_score: int(15, 'Score at or above which a submitted message is refused.'),
      suspend_after: int(
        5,
        "Refusals within suspend_window after which the sender (an account, or a trusted network's client IP) may send nothing more until the window ends (451 4.7.1 at MAIL FROM, a warning in the log); 0: never.",
        { min: 0 },
      ),
      suspend_window: duration('1h', 'The window of suspend_after (fixed windows: a suspension ends with its window).'),
    },
  ),
  junk_report: section(
    'A daily message to each account listing what the filter put in its Junk mailbox the day before, least likely spam first, so a wrong verdict is found before retention deletes it.',
    {
      enabled: bool(false, 'Send the daily Junk report to every account that has new filed junk.', {
        production: true,
      }),
      hour: int(7, 'Hour of the day (server local time) at which reports go out, covering the 24 hours before.', {
        min: 0,
        max: 23,
      }),
      max_listed: int(50, 'Messages listed per report at most (the rest are counted).', { min: 1, max: 1000 }),
    },
  ),
  backscatter: section(
    'Bounces (null reverse-path) of mail our users never sent: what comes back when a spammer forges one of our addresses. Needs [spam.replies], which remembers what was sent.',
    {
      enabled: bool(true, 'Score bounces by whether the message they return is one our users sent through us.'),
      score: int(
        5,
        "BACKSCATTER: a bounce of a message none of our users sent through us (a forgery's bounce, or mail they sent elsewhere with our address).",
      ),
      unverified_score: int(1, 'BOUNCE_NO_ORIGINAL: a bounce that quotes no Message-ID of the message it returns.'),
      ours_score: int(-3, 'BOUNCE_OURS: a bounce of a message one of our users sent: it must reach them.'),
    },
  ),
  replies: section("Mail our users sent, remembered: replies to it and its recipients' mail score as trusted.", {
    enabled: bool(true, 'Remember the Message-ID and recipients of mail sent by authenticated users.'),
    reply_score: int(-4, 'REPLY: the message answers (In-Reply-To/References) a message one of our users sent.'),
    contact_score: int(
      -2,
      'KNOWN_CONTACT: the From address is one our users wrote to, and DMARC or aligned DKIM authenticates it.',
    ),
    half_life_days: int(
      180,
      'A sent message or a contact is forgotten gradually, half its weight per this many days.',
      {
        min: 1,
      },
    ),
  }),
};
