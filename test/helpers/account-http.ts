// curl against the /account pages of a test server, one cookie jar per user (signed-in sessions kept):
// the status, the body and where a redirect points.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from './run.ts';

export interface AccountReply {
  status: number;
  body: string;
  location: string;
}

export type AccountHttp = (
  who: string,
  path: string,
  opts?: { json?: unknown; form?: Record<string, string>; html?: boolean; headers?: Record<string, string> },
) => Promise<AccountReply>;

/** A client for http://127.0.0.1:`port()` with cookie jars in `dir` (port read at each call: set in before()). */
export function accountHttp(curlPath: string, port: () => number, dir: () => string): AccountHttp {
  return async (who, path, opts = {}) => {
    const jar = join(dir(), `${who}.jar`);
    const args = ['-s', '-o', '-', '-w', '\n%{http_code} %{redirect_url}', '-c', jar, '-b', jar];
    if (opts.html) args.push('-H', 'Accept: text/html');
    for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
    if (opts.json !== undefined)
      args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(opts.json));
    for (const [k, v] of Object.entries(opts.form ?? {})) args.push('--data-urlencode', `${k}=${v}`);
    args.push(`http://127.0.0.1:${port()}${path}`);
    const r = await run(curlPath, args, { timeoutMs: 15000 });
    assert.equal(r.status, 0, r.stderr);
    const cut = r.stdout.lastIndexOf('\n');
    const [status, location = ''] = r.stdout.slice(cut + 1).split(' ');
    return { status: Number(status), body: r.stdout.slice(0, cut), location };
  };
}
