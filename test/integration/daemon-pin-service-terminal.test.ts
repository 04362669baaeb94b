import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimTerminal } from '../../device-sim/terminal/index.js';
import { CardClient } from '../../protocol/commands/index.js';
import type { PinServiceView } from '../../host/card-services/pin-service-view.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';

/**
 * The PIN service through the daemon on a serial terminal (real socat pty pair): the terminal's own
 * pad collects every entry and talks to the card itself (protocol §13.4 PIN_ENTRY mode); a terminal
 * whose firmware has no modes hands the entry to the customer display.
 */
describe('daemon: the PIN service on a serial terminal’s pad (issue 14)', function () {
  this.timeout(60_000);
  let dir: string;
  let pty: PtyPair;
  let f: DaemonFixture;
  let sim: SimTerminal;
  let reader: string;

  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  const start = async (noPinModes: boolean) => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-pin-term-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
    f = await DaemonFixture.start({ insert: false, config: { readers: { pcsc: false, serial: [join(dir, 'host')] } } });
    sim = new SimTerminal({ path: join(dir, 'term'), serial: 'SIM-9', noPinModes }).start();
    sim.insert(f.applet);
    reader = `serial terminal ${join(dir, 'host')}`;
    for (let i = 0; !f.daemon.hub.info(reader)?.cardPresent; i++) {
      assert.ok(i < 300, "the terminal's slot appears as a reader with the card");
      await new Promise((r) => setTimeout(r, 50));
    }
    // The link settled: the card answers through the slot.
    for (let i = 0; (await f.api('GET', `/api/v1/readers/${encodeURIComponent(reader)}/card`)).status !== 200; i++) {
      assert.ok(i < 100, 'the card answers through the terminal');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  afterEach(async () => {
    await sim?.stop();
    await f?.stop();
    await pty?.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const final = async (id: string) => {
    for (let i = 0; i < 400; i++) {
      const v = (await f.api<PinServiceView>('GET', `/api/v1/pin-services/${id}`)).body;
      if (v.final) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `the service did not end: ${JSON.stringify((await f.api('GET', `/api/v1/pin-services/${id}`)).body)}`,
    );
  };

  it('changes the PIN on the pad: a wrong current PIN costs a try and is asked again there; the host sees outcomes only', async () => {
    await start(false);
    // The pad asks all three before it sends CHANGE REFERENCE DATA; the wrong current PIN shows then.
    sim.pressPin('9999', '7410', '7410', FIXTURE_PIN, '7410', '7410');
    const r = await f.api<PinServiceView>('POST', '/api/v1/pin-services', { kind: 'change', reader });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const v = await final(r.body.serviceId);
    assert.equal(v.state, 'done', JSON.stringify(v));
    assert.equal(v.entryOnDevice, true);
    await sim.stop();
    f.applet.powerOn();
    const c = new CardClient({ extendedLength: true, transmit: async (a) => f.applet.transmit(a) });
    await c.select();
    await c.verifyPin(new TextEncoder().encode('7410'));
  });

  it('a terminal without PIN_ENTRY modes: the customer display’s keypad takes over', async () => {
    await start(true);
    const r = await f.api<PinServiceView>('POST', '/api/v1/pin-services', { kind: 'change', reader });
    let v = r.body;
    for (let i = 0; i < 200 && !(v.state === 'entry' && v.step === 'current'); i++) {
      await new Promise((res) => setTimeout(res, 50));
      v = (await f.api<PinServiceView>('GET', `/api/v1/pin-services/${r.body.serviceId}`)).body;
    }
    assert.equal(v.step, 'current', JSON.stringify(v));
    assert.equal(v.entryOnDevice, false);
    await f.api('POST', `/api/v1/pin-services/${v.serviceId}/cancel`);
  });
});
