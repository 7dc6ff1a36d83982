// Reply form over the wire: enhanced status codes (RFC 2034) whatever the client greeted with, and the
// 421 every session gets when the server shuts down (RFC 5321 section 3.8).
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, type SmtpTestServer, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
});
after(() => t.stop());

// RFC 2034 sections 4 and 5: every 2xx/4xx/5xx reply but the greeting and the reply to HELO/EHLO carries an
// enhanced code, "regardless of whether or not EHLO is employed by the client" (no negotiation).
test('enhanced status codes before any greeting and after HELO, not only after EHLO', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(503, 'MAIL FROM:<a@remote.test>', /^503 5\.5\.1 /);
  await c.expect(250, 'NOOP', /^250 2\.0\.0 /);
  await c.expect(500, 'BOGUS', /^500 5\.5\.2 /);
  await c.expect(250, 'HELO old.test', /^250 mx\.test\.petrel /);
  // Extensions still need EHLO: a parameter after HELO is unknown (555), but the reply has its code.
  await c.expect(555, 'MAIL FROM:<a@remote.test> SIZE=10', /^555 5\.5\.4 /);
  await c.expect(250, 'MAIL FROM:<a@remote.test>', /^250 2\.1\.0 /);
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`, /^250 2\.1\.5 /);
  await c.expect(550, `RCPT TO:<nobody@${DOMAIN}>`, /^550 5\.1\.1 /);
  await c.expect(354, 'DATA');
  await c.expect(250, `${message()}.`, /^250 2\.0\.0 /);
  await c.expect(221, 'QUIT', /^221 2\.0\.0 /);
});

// RFC 5321 section 3.8: a server shutting down says 421 before it closes. An idle session hears it at once;
// one in the middle of a message first gets its message's reply, then the 421.
test('shutdown: 421 4.3.2 to an idle session at once, to one inside DATA after its message is taken', async () => {
  const s = await startSmtpServer();
  const idle = await RawSmtp.open(s.ports.smtp);
  await idle.expect(220);
  await idle.expect(250, 'EHLO idle.test');
  const busy = await RawSmtp.open(s.ports.smtp);
  await busy.expect(220);
  await busy.expect(250, 'EHLO busy.test');
  await busy.expect(250, 'MAIL FROM:<a@remote.test>');
  await busy.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await busy.expect(354, 'DATA');
  busy.write(message({ id: 'during-shutdown@test' }));
  const stopping = s.stop();
  try {
    await idle.expect(421, undefined, /^421 4\.3\.2 mx\.test\.petrel Service shutting down/);
    await idle.closedByServer();
    busy.write('.\r\n');
    // 250 is sent only once the message is stored (the store itself closes with the server, so not read here).
    await busy.expect(250, undefined, /^250 2\.0\.0 OK/);
    await busy.expect(421, undefined, /^421 4\.3\.2 /);
    await busy.closedByServer();
  } finally {
    idle.close();
    busy.close();
    await stopping;
  }
});
