// Thunderbird autoconfig (the "config-v1.1.xml" format, also read by K-9/Thunderbird for Android, Evolution,
// KMail): served at /.well-known/autoconfig/mail/config-v1.1.xml and on http://autoconfig.<domain>/mail/.
import type { ClientSetup, Endpoint } from './endpoints.ts';
import { xml } from './xml.ts';

function server(e: Endpoint, oauth: boolean): string {
  const tag = e.protocol === 'smtp' ? 'outgoingServer' : 'incomingServer';
  return [
    `    <${tag} type="${e.protocol}">`,
    `      <hostname>${xml(e.host)}</hostname>`,
    `      <port>${e.port}</port>`,
    `      <socketType>${e.security === 'tls' ? 'SSL' : 'STARTTLS'}</socketType>`,
    '      <authentication>password-cleartext</authentication>',
    // Listed second: clients that support it may offer OAuth 2.0 with the provider below.
    ...(oauth ? ['      <authentication>OAuth2</authentication>'] : []),
    // Thunderbird substitutes the address the user typed.
    '      <username>%EMAILADDRESS%</username>',
    `    </${tag}>`,
  ].join('\n');
}

export function autoconfigXml(setup: ClientSetup, domain: string): string {
  const name = setup.displayName ?? domain;
  const oauth = setup.oauth?.() ?? null;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${xml(domain)}">`,
    `    <domain>${xml(domain)}</domain>`,
    `    <displayName>${xml(name)}</displayName>`,
    `    <displayShortName>${xml(name)}</displayShortName>`,
    ...setup.endpoints.map((e) => server(e, oauth !== null)),
    '  </emailProvider>',
    // Thunderbird's OAuth 2.0 description (issuer, scope, endpoints) for the built-in public client.
    ...(oauth
      ? [
          '  <oAuth2>',
          `    <issuer>${xml(oauth.issuer)}</issuer>`,
          `    <scope>${xml(oauth.scope)}</scope>`,
          `    <authURL>${xml(`${oauth.issuer}/oauth/authorize`)}</authURL>`,
          `    <tokenURL>${xml(`${oauth.issuer}/oauth/token`)}</tokenURL>`,
          `    <clientID>${xml(oauth.clientId)}</clientID>`,
          '  </oAuth2>',
        ]
      : []),
    '</clientConfig>',
    '',
  ].join('\n');
}
