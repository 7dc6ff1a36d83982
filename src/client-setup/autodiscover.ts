// Microsoft Autodiscover, the plain-old-XML (POX) form Outlook and many phones POST to
// /autodiscover/autodiscover.xml: the request names an address, the answer lists IMAP, POP3 and SMTP.
import { type ClientSetup, type Endpoint, preferred } from './endpoints.ts';
import { xml } from './xml.ts';

const RESPONSE_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/**
 * The EMailAddress of a POX request, or null. The element's text is taken whole and trimmed afterwards:
 * a pattern with \s* on both sides of a lazy run backtracked quadratically on a body of spaces with no
 * closing tag (16 KiB held the event loop for over a minute). [^<]* then "<" cannot backtrack.
 */
export function requestedAddress(body: string): string | null {
  const m = /<(?:\w+:)?EMailAddress>([^<]*)<\/(?:\w+:)?EMailAddress>/.exec(body);
  const text = m?.[1].trim();
  if (!text || text.length > 320) return null;
  return text.replace(
    /&lt;|&gt;|&amp;|&quot;|&apos;/g,
    (e) => ({ '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&apos;': "'" })[e]!,
  );
}

function protocol(e: Endpoint, address: string): string {
  const lines = [
    '      <Protocol>',
    `        <Type>${e.protocol === 'smtp' ? 'SMTP' : e.protocol === 'imap' ? 'IMAP' : 'POP3'}</Type>`,
    `        <Server>${xml(e.host)}</Server>`,
    `        <Port>${e.port}</Port>`,
    '        <DomainRequired>off</DomainRequired>',
    `        <LoginName>${xml(address)}</LoginName>`,
    '        <SPA>off</SPA>',
    // "SSL" is TLS from the first byte, "TLS" is STARTTLS.
    `        <SSL>on</SSL>`,
    `        <Encryption>${e.security === 'tls' ? 'SSL' : 'TLS'}</Encryption>`,
    '        <AuthRequired>on</AuthRequired>',
  ];
  if (e.protocol === 'smtp') lines.push('        <UsePOPAuth>on</UsePOPAuth>', '        <SMTPLast>off</SMTPLast>');
  lines.push('      </Protocol>');
  return lines.join('\n');
}

export function autodiscoverXml(setup: ClientSetup, address: string): string {
  const chosen = (['imap', 'pop3', 'smtp'] as const).map((p) => preferred(setup, p)).filter((e) => e !== null);
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">',
    `  <Response xmlns="${RESPONSE_SCHEMA}">`,
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    ...chosen.map((e) => protocol(e, address)),
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** The POX error answer for an address this server does not serve. */
export function autodiscoverError(): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">',
    '  <Response>',
    '    <Error Id="0" Time="00:00:00">',
    '      <ErrorCode>600</ErrorCode>',
    '      <Message>Invalid Request</Message>',
    '    </Error>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}
