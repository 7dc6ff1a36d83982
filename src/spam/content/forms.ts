// HTML forms asking for secrets (passwords, PINs, card numbers): the phishing check's PHISH_CREDENTIAL_FORM,
// computed by the content scan (spam/scan) from the message's HTML parts.
import { decodeAttribute } from '../../mime/html.ts';
import { startTags } from './tags.ts';

/** Input names that ask for secrets: passwords, PINs, card numbers and codes, social security numbers. */
const SECRET_NAME = /passw|pwd|pin\b|cvv|cvc|card.?num|ccnum|ssn/i;
const FORM = /<form\b/i;
const INPUT = new Set(['input']);
/** HTML read for credential forms per message (parts with no form tag cost one search and do not count). */
const MAX_FORM_HTML = 1024 * 1024;

/**
 * True when the HTML holds a form asking for a password or card data; `needsForm` false: any such field,
 * in a form or not (a page opened in a browser, whose scripts can send it).
 */
export function credentialForm(html: string, needsForm = true): boolean {
  if (needsForm && !FORM.test(html)) return false;
  for (const tag of startTags(html.length > MAX_FORM_HTML ? html.slice(0, MAX_FORM_HTML) : html, INPUT))
    for (const a of tag.attributes) {
      // Values as the browser reads them: character references decoded (type="pass&#119;ord" is a password field).
      if (a.name !== 'type' && a.name !== 'name') continue;
      const value = decodeAttribute(a.value);
      if (
        (a.name === 'type' && value.trim().toLowerCase() === 'password') ||
        (a.name === 'name' && SECRET_NAME.test(value))
      )
        return true;
    }
  return false;
}

/** Whether any HTML part of a message holds such a form, reading at most MAX_FORM_HTML in all. */
export function anyCredentialForm(htmls: string[]): boolean {
  let left = MAX_FORM_HTML;
  for (const html of htmls) {
    if (left <= 0) return false;
    const part = html.length > left ? html.slice(0, left) : html;
    if (FORM.test(part)) left -= part.length;
    if (credentialForm(part)) return true;
  }
  return false;
}
