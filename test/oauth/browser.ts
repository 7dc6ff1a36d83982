// A tiny browser for OAuth tests: fetch with a cookie jar (path-scoped), manual redirects, and the first
// <form> of a page read back (action and fields) so a test can submit it like a user would.
import { createHash, randomBytes } from 'node:crypto';

interface Cookie {
  name: string;
  value: string;
  path: string;
}

export interface Page {
  status: number;
  url: string;
  headers: Headers;
  text: string;
}

export class Browser {
  private cookies: Cookie[] = [];
  readonly base: string;
  /** Sent with every request (e.g. the X-Forwarded-For a reverse proxy adds). */
  private readonly headers: Record<string, string>;
  constructor(base: string, headers: Record<string, string> = {}) {
    this.base = base;
    this.headers = headers;
  }

  private store(url: URL, res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.trim().split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path));
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  private header(url: URL): string {
    return this.cookies
      .filter(
        (c) =>
          url.pathname === c.path ||
          url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) ||
          c.path === '/',
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** One request, no redirect followed. */
  async request(
    path: string,
    init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { ...this.headers, ...init.headers };
    const cookie = this.header(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    } else if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const res = await fetch(url, {
      method: init.method ?? (body !== undefined ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    this.store(url, res);
    return { status: res.status, url: url.toString(), headers: res.headers, text: await res.text() };
  }

  /**
   * Follows redirects on this server until a page answers, or until a redirect leaves for `stopAt` (a
   * client's redirect URI, returned as the final URL).
   */
  async follow(first: Page, stopAt?: string): Promise<Page> {
    let page = first;
    for (let i = 0; i < 20 && page.status >= 300 && page.status < 400; i++) {
      const next = new URL(page.headers.get('location')!, page.url);
      if (stopAt && next.toString().startsWith(stopAt)) return { ...page, url: next.toString() };
      page = await this.request(next.toString());
    }
    return page;
  }
}

/** The first form of a page (or the one with this id): its action and its fields' values. */
export function readForm(html: string, id?: string): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const f = id ? forms.find((m) => m[1].includes(`id="${id}"`)) : forms[0];
  if (!f) throw new Error(`no form${id ? ` ${id}` : ''} in page:\n${html.slice(0, 500)}`);
  const action = /action="([^"]*)"/.exec(f[1])?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const m of f[2].matchAll(/<input\b([^>]*)>/g)) {
    const name = /name="([^"]*)"/.exec(m[1])?.[1];
    if (name) fields[name] = /value="([^"]*)"/.exec(m[1])?.[1] ?? '';
  }
  return { action: action.replace(/&amp;/g, '&'), fields };
}

/** PKCE (RFC 7636): a verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
