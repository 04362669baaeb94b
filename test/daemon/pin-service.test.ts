import { strict as assert } from 'node:assert';
import { CardApplet } from '../../device-sim/card/applet.js';
import { CardClient, CardStatusError, LIFECYCLE } from '../../protocol/commands/index.js';
import type { PinServiceView } from '../../host/card-services/pin-service-view.js';
import type { ConfigInput } from '../../host/daemon/config.js';
import { join } from 'node:path';
import { runCli } from '../../host/cli/main.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { newIssuedCard } from '../support/new-card.js';
import { pairCookie } from '../support/raw-http.js';
import { ascii } from '../support/issuer.js';

const TRANSPORT_PIN = '0000';
const PUK = '12345678';
type ApiError = { error: { code: string; message: string; hint: string } };

/** A card fresh from the issuer: personalised with the transport PIN, not yet activated. */
const newCard = (f: DaemonFixture) => newIssuedCard(f.issuer.dir, TRANSPORT_PIN, PUK);

/** The card itself, bypassing the host. */
async function cardInfo(applet: CardApplet) {
  applet.powerOn();
  const c = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  await c.select();
  return { client: c, info: await c.getInfo() };
}

describe('PIN service: activation, change and unblock typed on the customer display (issue 14)', function () {
  this.timeout(30_000);
  let f: DaemonFixture;
  let display: string;
  const start = async (config: ConfigInput = {}, readerLatencyMs = 0) => {
    f = await DaemonFixture.start({
      config: { cardServices: { autoSyncAt: null, ...config.cardServices } },
      insert: false,
      readerLatencyMs,
    });
    display = (await pairCookie(f.url, f.token, 'display')).cookie;
  };
  afterEach(async () => {
    await f?.stop();
  });

  /** What the customer display sends: its own cookie, nothing else. */
  const type = (id: string, step: string, pin: string) =>
    fetch(`${f.url}/api/v1/pin-services/${id}/entry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: display },
      body: JSON.stringify({ step, pin }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));
  const view = async (id: string) => (await f.api<PinServiceView>('GET', `/api/v1/pin-services/${id}`)).body;
  /** Wait until the service asks for `step` (or ends), and return it. */
  const asked = async (id: string, step: string | 'final') => {
    const end = Date.now() + 10_000;
    let v = await view(id);
    while (!v.final && !(v.state === 'entry' && v.step === step) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
      v = await view(id);
    }
    if (step !== 'final') assert.equal(v.step, step, JSON.stringify(v));
    return v;
  };
  const begin = async (kind: 'change' | 'unblock') => {
    const r = await f.api<PinServiceView>('POST', '/api/v1/pin-services', { kind, reader: 'fixture reader' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.serviceId;
  };

  it('activates a new card: the transport PIN, then a new PIN twice; weak and mismatched PINs are asked again; the card is active with the new PIN', async () => {
    await start();
    const applet = await newCard(f);
    const id = await begin('change'); // started before the card is there: it waits for it
    assert.equal((await view(id)).state, 'waiting_card');
    f.reader.insert(applet);
    let v = await asked(id, 'current');
    assert.equal(v.activation, true, 'the card still had its transport PIN');
    assert.equal(v.triesLeft, 3);
    assert.ok(v.deadline! > Date.now() + 60_000, 'the customer has at least a minute');

    assert.equal((await type(id, 'current', '9999')).status, 202);
    v = await asked(id, 'current');
    assert.equal(v.notice?.code, 'PIN_WRONG');
    assert.equal(v.triesLeft, 2, 'the wrong transport PIN cost a try, and the screen says so');

    await type(id, 'current', TRANSPORT_PIN);
    await asked(id, 'new');
    for (const weak of ['1111', '1234', '98765', TRANSPORT_PIN]) {
      await type(id, 'new', weak);
      v = await asked(id, 'new');
      assert.equal(v.notice?.code, 'PIN_TOO_WEAK', weak);
    }
    await type(id, 'new', '2580');
    await asked(id, 'confirm');
    await type(id, 'confirm', '2581');
    v = await asked(id, 'new');
    assert.equal(v.notice?.code, 'PIN_MISMATCH');
    await type(id, 'new', '2580');
    await asked(id, 'confirm');
    await type(id, 'confirm', '2580');
    v = await asked(id, 'final');
    assert.equal(v.state, 'done', JSON.stringify(v));

    f.reader.remove();
    const { client, info } = await cardInfo(applet);
    assert.equal(info.lifecycle, LIFECYCLE.ACTIVE);
    assert.equal(info.pinRetries, 3);
    await assert.rejects(client.verifyPin(ascii(TRANSPORT_PIN)), (e: unknown) => e instanceof CardStatusError);
    await client.verifyPin(ascii('2580'));
  });

  it('a sale on a card not yet activated is refused CARD_PIN_CHANGE_REQUIRED before any PIN, with the way to activate it (not "top up")', async () => {
    await start();
    f.reader.insert(await newCard(f)); // no money on it yet, either
    const r = await f.api<{ saleId: string }>('POST', '/api/v1/sales', { amount: 500, reader: 'fixture reader' });
    const s = await f.waitForSale(r.body.saleId, ['failed', 'done', 'pin']);
    assert.equal(s.state, 'failed', JSON.stringify(s));
    assert.equal(s.error?.code, 'CARD_PIN_CHANGE_REQUIRED');
    assert.match(s.error!.hint, /[Aa]ctivate/);
  });

  it('unblocks a blocked PIN with the PUK: a wrong PUK is asked again with its tries left; the card takes the new PIN', async () => {
    await start();
    const applet = await newCard(f);
    {
      const { client } = await cardInfo(applet);
      for (let i = 0; i < 3; i++) await client.verifyPin(ascii('9999')).catch(() => undefined);
      assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.PIN_BLOCKED);
      applet.powerOff();
    }
    f.reader.insert(applet);
    // A change on a blocked card says what to do instead.
    const refused = await begin('change');
    const r = await asked(refused, 'final');
    assert.equal(r.state, 'failed');
    assert.equal(r.error?.code, 'CARD_PIN_BLOCKED');
    assert.match(r.error!.hint, /PUK/);

    const id = await begin('unblock');
    let v = await asked(id, 'puk');
    assert.equal(v.triesLeft, 10);
    await type(id, 'puk', '87654321');
    await asked(id, 'new');
    await type(id, 'new', '4826');
    await asked(id, 'confirm');
    await type(id, 'confirm', '4826');
    v = await asked(id, 'puk');
    assert.equal(v.notice?.code, 'PUK_WRONG');
    assert.equal(v.triesLeft, 9);
    await type(id, 'puk', PUK);
    await asked(id, 'new');
    await type(id, 'new', '4826');
    await asked(id, 'confirm');
    await type(id, 'confirm', '4826');
    assert.equal((await asked(id, 'final')).state, 'done');
    f.reader.remove();
    const { client, info } = await cardInfo(applet);
    assert.equal(info.pinRetries, 3);
    assert.equal(info.pukRetries, 10);
    await client.verifyPin(ascii('4826'));
  });

  it('the digits come from the customer display alone: the bearer token and the counter page are refused; the display cannot start one; a browser paired as both may type', async () => {
    await start();
    f.reader.insert(await newCard(f));
    const id = await begin('change');
    await asked(id, 'current');
    const bearer = await f.api<ApiError>('POST', `/api/v1/pin-services/${id}/entry`, { step: 'current', pin: '0000' });
    assert.equal(bearer.status, 403);
    assert.equal(bearer.body.error.code, 'PIN_ENTRY_NOT_HERE');
    const counter = (await pairCookie(f.url, f.token, 'counter')).cookie;
    const fromCounter = await fetch(`${f.url}/api/v1/pin-services/${id}/entry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: counter },
      body: JSON.stringify({ step: 'current', pin: '0000' }),
    });
    assert.equal(fromCounter.status, 403);
    assert.equal(((await fromCounter.json()) as ApiError).error.code, 'API_SCOPE_REFUSED');
    const startByDisplay = await fetch(`${f.url}/api/v1/pin-services`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: display },
      body: JSON.stringify({ kind: 'change' }),
    });
    assert.equal(startByDisplay.status, 403);
    // Malformed digits and the wrong step: typed refusals, and the service still asks as before.
    assert.equal(((await type(id, 'current', '12a4')).body as ApiError).error.code, 'PIN_FORMAT');
    assert.equal(((await type(id, 'new', '2580')).body as ApiError).error.code, 'PIN_SERVICE_NOT_ASKING');
    assert.equal((await type(id, 'current', '1'.repeat(40))).status, 400);
    const v = await view(id);
    assert.equal(v.step, 'current');
    assert.equal(v.triesLeft, 3, 'no refused entry reached the card');
    // One browser paired as both the counter and the display (a one-PC demo): its display page types.
    const both = await fetch(`${f.url}/api/v1/pin-services/${id}/entry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: `${counter}; ${display}` },
      body: JSON.stringify({ step: 'current', pin: '9999' }),
    });
    assert.equal(both.status, 202);
    for (let i = 0; i < 100 && (await view(id)).triesLeft !== 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await view(id)).notice?.code, 'PIN_WRONG');
    // The display cancels it (the customer walked away).
    const c = await fetch(`${f.url}/api/v1/pin-services/${id}/cancel`, {
      method: 'POST',
      headers: { Cookie: display },
    });
    assert.equal(((await c.json()) as PinServiceView).state, 'cancelled');
  });

  it('a card taken out during the entry ends the service CARD_REMOVED; nothing changed on the card', async () => {
    await start();
    const applet = await newCard(f);
    f.reader.insert(applet);
    const id = await begin('change');
    await asked(id, 'current');
    await type(id, 'current', TRANSPORT_PIN);
    await asked(id, 'new');
    f.reader.remove();
    const v = await asked(id, 'final');
    assert.equal(v.state, 'failed');
    assert.equal(v.error?.code, 'CARD_REMOVED');
    const { info } = await cardInfo(applet);
    assert.equal(info.lifecycle, LIFECYCLE.PERSONALISED, 'still the transport PIN');
  });

  it('the card pulled while it sets the new PIN: PIN_CHANGE_UNCLEAR says the card has the old PIN or the new one, and it has exactly one of them', async () => {
    await start({}, 150);
    const applet = await newCard(f);
    f.reader.insert(applet);
    const id = await begin('change');
    await asked(id, 'current');
    await type(id, 'current', TRANSPORT_PIN);
    await asked(id, 'new');
    await type(id, 'new', '5173');
    await asked(id, 'confirm');
    await type(id, 'confirm', '5173');
    for (let i = 0; i < 200 && (await view(id)).state !== 'working'; i++) await new Promise((r) => setTimeout(r, 5));
    f.reader.remove();
    const v = await asked(id, 'final');
    assert.equal(v.state, 'failed');
    assert.equal(v.error?.code, 'PIN_CHANGE_UNCLEAR', JSON.stringify(v));
    assert.match(v.error!.hint, /new PIN/);
    const { client } = await cardInfo(applet);
    const takes = async (pin: string) =>
      client.verifyPin(ascii(pin)).then(
        () => true,
        () => false,
      );
    const [oldOk, newOk] = [await takes(TRANSPORT_PIN), await takes('5173')];
    assert.ok(oldOk !== newOk, `exactly one PIN works (old ${oldOk}, new ${newOk})`);
  });

  it('unblocking at the counter can be switched off by the issuer (403 PIN_UNBLOCK_NOT_ALLOWED); a busy reader and an unknown one are refused', async () => {
    await start({ cardServices: { unblockAtCounter: false } });
    f.reader.insert(await newCard(f));
    const r = await f.api<ApiError>('POST', '/api/v1/pin-services', { kind: 'unblock' });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'PIN_UNBLOCK_NOT_ALLOWED');
    assert.match(r.body.error.hint, /issuer/);
    const unknown = await f.api<ApiError>('POST', '/api/v1/pin-services', { kind: 'change', reader: 'no such' });
    assert.equal(unknown.body.error.code, 'READER_UNKNOWN');
    const id = await begin('change');
    const busy = await f.api<ApiError>('POST', '/api/v1/pin-services', { kind: 'change' });
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.code, 'READER_BUSY');
    const bad = await f.api<ApiError>('POST', '/api/v1/pin-services', { kind: 'reset' });
    assert.equal(bad.status, 400);
    await f.api('POST', `/api/v1/pin-services/${id}/cancel`);
  });

  it('`cardpost card change-pin` starts the service and follows it to the end; the customer types on the display; a blocked card exits with the code and what to do', async () => {
    await start();
    const applet = await newCard(f);
    f.reader.insert(applet);
    const cli = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(
        [...args, '--data-dir', join(f.dir, 'data')],
        { out: (l) => out.push(l), setExitCode: () => {} },
        (l) => err.push(l),
      );
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const running = cli(['card', 'change-pin']);
    let id: string | undefined;
    const end = Date.now() + 10_000;
    while (!id && Date.now() < end) {
      const cur = await f.api<PinServiceView>('GET', '/api/v1/pin-services/current');
      if (cur.status === 200 && cur.body.step === 'current') id = cur.body.serviceId;
      else await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(id, 'the command started a service');
    await type(id, 'current', TRANSPORT_PIN);
    await asked(id, 'new');
    await type(id, 'new', '3691');
    await asked(id, 'confirm');
    await type(id, 'confirm', '3691');
    const r = await running;
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /customer display/);
    assert.match(r.out, /card activated/);
    assert.doesNotMatch(r.out + r.err, /3691|0000/, 'no digit is printed');

    const { client } = await cardInfo(applet);
    for (let i = 0; i < 3; i++) await client.verifyPin(ascii('9999')).catch(() => undefined);
    applet.powerOff();
    f.reader.remove();
    f.reader.insert(applet);
    const blocked = await cli(['card', 'change-pin']);
    assert.notEqual(blocked.code, 0);
    assert.match(blocked.err, /CARD_PIN_BLOCKED/);
    assert.match(blocked.err, /PUK/);
  });
});
