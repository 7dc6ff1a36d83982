// The HTTP listener's routing: exact paths, then prefix mounts ("/account" owns "/account/..." but not
// "/accounts"; "/oauth/" owns what is below it), then 404.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger } from '../telemetry/log.ts';
import { type HttpListener, startHttp } from './server.ts';

let h: HttpListener;
before(async () => {
  const answer = (name: string) => (_req: unknown, res: import('node:http').ServerResponse) => void res.end(name);
  h = await startHttp(
    { host: '127.0.0.1', port: 0 },
    {
      ready: async () => true,
      log: silentLogger,
      routes: new Map([['/exact', answer('exact')]]),
      prefixes: [
        ['/oauth/', answer('oauth')],
        ['/account', answer('account')],
      ],
    },
  );
});
after(() => h.close(0));

test('exact routes, then prefixes on a path-segment boundary, then 404', async () => {
  const get = async (p: string) => {
    const r = await fetch(`http://127.0.0.1:${h.port}${p}`);
    return `${r.status} ${await r.text()}`;
  };
  assert.equal(await get('/exact'), '200 exact');
  assert.equal(await get('/oauth/token?x=1'), '200 oauth');
  assert.equal(await get('/account'), '200 account');
  assert.equal(await get('/account/2fa'), '200 account');
  assert.match(await get('/accounts'), /^404/);
  assert.match(await get('/oauth'), /^404/);
  assert.equal(await get('/healthz'), '200 {"status":"ok"}');
});
