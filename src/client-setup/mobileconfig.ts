// An Apple configuration profile (.mobileconfig, a property list) that adds one mail account on iOS and
// macOS: the incoming server (IMAP, else POP3) and SMTP, both over TLS, password asked on install.
import { createHash } from 'node:crypto';
import { type ClientSetup, preferred } from './endpoints.ts';
import { xml } from './xml.ts';

/** A stable UUID from a name (so downloading twice gives the same profile, which replaces the first). */
function uuidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

type Plist = string | number | boolean | Plist[] | { [k: string]: Plist };

function plist(v: Plist, indent: string): string {
  if (typeof v === 'string') return `${indent}<string>${xml(v)}</string>`;
  if (typeof v === 'number') return `${indent}<integer>${v}</integer>`;
  if (typeof v === 'boolean') return `${indent}<${v}/>`;
  if (Array.isArray(v))
    return [`${indent}<array>`, ...v.map((x) => plist(x, `${indent}  `)), `${indent}</array>`].join('\n');
  const out = [`${indent}<dict>`];
  for (const [k, x] of Object.entries(v)) out.push(`${indent}  <key>${xml(k)}</key>`, plist(x, `${indent}  `));
  out.push(`${indent}</dict>`);
  return out.join('\n');
}

export function mobileconfig(setup: ClientSetup, address: string, domain: string): string | null {
  const incoming = preferred(setup, 'imap') ?? preferred(setup, 'pop3');
  const outgoing = preferred(setup, 'smtp');
  if (!incoming || !outgoing) return null;
  const reverse = domain.split('.').reverse().join('.');
  const id = `${reverse}.petrel.mail`;
  const name = setup.displayName ?? domain;
  const account: Plist = {
    EmailAccountDescription: name,
    EmailAccountName: address,
    EmailAccountType: incoming.protocol === 'imap' ? 'EmailTypeIMAP' : 'EmailTypePOP',
    EmailAddress: address,
    IncomingMailServerAuthentication: 'EmailAuthPassword',
    IncomingMailServerHostName: incoming.host,
    IncomingMailServerPortNumber: incoming.port,
    IncomingMailServerUseSSL: true,
    IncomingMailServerUsername: address,
    OutgoingMailServerAuthentication: 'EmailAuthPassword',
    OutgoingMailServerHostName: outgoing.host,
    OutgoingMailServerPortNumber: outgoing.port,
    OutgoingMailServerUseSSL: true,
    OutgoingMailServerUsername: address,
    OutgoingPasswordSameAsIncomingPassword: true,
    PayloadDescription: `Mail account ${address}`,
    PayloadDisplayName: name,
    PayloadIdentifier: `${id}.account.${uuidFrom(address)}`,
    PayloadType: 'com.apple.mail.managed',
    PayloadUUID: uuidFrom(`account:${address}`),
    PayloadVersion: 1,
  };
  const profile: Plist = {
    PayloadContent: [account],
    PayloadDescription: `Sets up ${address} in Mail`,
    PayloadDisplayName: `${name} mail`,
    PayloadIdentifier: `${id}.${uuidFrom(address)}`,
    PayloadOrganization: name,
    PayloadRemovalDisallowed: false,
    PayloadType: 'Configuration',
    PayloadUUID: uuidFrom(`profile:${address}`),
    PayloadVersion: 1,
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    plist(profile, ''),
    '</plist>',
    '',
  ].join('\n');
}
