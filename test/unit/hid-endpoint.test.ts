import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { CardClient } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';
import { TrustStore } from '../../protocol/record/index.js';
import { TransportError } from '../../protocol/transport.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { SimHidKey } from '../../device-sim/hid/index.js';
import { SimHidEndpoint } from '../../device-sim/hid/hid-endpoint.js';
import { HidKeySource, type HidCardReader, type NodeHidModule } from '../../host/transports/hid/index.js';
import { RemoteNodeHid, parseLoopbackEndpoint } from '../../host/transports/hid/remote-node-hid.js';
import { CardSession } from '../../host/session/card-session.js';
import { ConfigError, loadConfig } from '../../host/daemon/config.js';
import { simHidCommand } from '../../host/cli/sim-hid-command.js';
import { TestIssuer, NOW } from '../support/issuer.js';

/**
 * The simulated HID key reached from another program: RemoteNodeHid (the daemon's side of
 * readers.hidEndpoint) ↔ SimHidEndpoint over loopback TCP, with the host's unchanged HID transport on
 * top (docs/protocol.md §11.13).
 */
async function issuedApplet(issuer: TestIssuer): Promise<{ applet: CardApplet; cardId: Uint8Array }> {
  const applet = new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: true });
  const cardId = Uint8Array.from(randomBytes(8));
  const direct = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  applet.powerOn();
  await direct.select();
  await issuer.issue(direct, { cardId });
  await direct.load({ token: issuer.topup(cardId, 1, 100_000).envelope, authority: issuer.authority.envelope });
  applet.powerOff();
  return { applet, cardId };
}

describe('simulated HID key endpoint (sim hid ↔ readers.hidEndpoint)', function () {
  this.timeout(20_000);
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function serve(keys: SimHidKey[]) {
    const logged: string[] = [];
    const endpoint = new SimHidEndpoint(keys, { log: (l) => logged.push(l) });
    const addr = await endpoint.listen({ host: '127.0.0.1', port: 0 });
    const hid = new RemoteNodeHid(addr);
    cleanups.push(
      () => endpoint.close(),
      () => hid.close(),
    );
    return { endpoint, addr, hid, logged };
  }

  it('a CardClient and a card session run GET_INFO and SIGN_TXN through HidKeySource over the endpoint', async () => {
    const issuer = new TestIssuer();
    const { applet, cardId } = await issuedApplet(issuer);
    const key = new SimHidKey(applet);
    const { hid } = await serve([key]);
    const fits: NodeHidModule = hid; // the seam the daemon passes to HidSource
    const source = await HidKeySource.open({ hid: fits, pollIntervalMs: 0 });
    cleanups.push(() => source.close());
    const reader = await source.waitForReader(() => true, 2000);
    assert.equal(reader.info.serialNumber, key.serialNumber, 'the key as listed by the endpoint');
    assert.equal(reader.info.path, key.info.path);

    const client = new CardClient(reader);
    await client.select();
    const info = await client.getInfo();
    assert.deepEqual(info.cardId, cardId, 'GET_INFO answered by the card in the remote key');
    assert.equal(info.balance, 100_000);

    const trust = new TrustStore();
    trust.addIssuer(issuer.certificate);
    const session = await CardSession.open(reader, trust, { now: NOW() });
    const record = await session.sign(
      {
        amount: 1234,
        currency: 156,
        merchantId: 'M-1',
        terminalId: 'T-1',
        time: NOW(),
        hostNonce: Uint8Array.from(randomBytes(16)),
      },
      undefined,
    );
    assert.equal(record.amount, 1234, 'SIGN_TXN: signed and verified by the host');
    assert.equal(record.balanceAfter, 100_000 - 1234);
    assert.ok(key.stats.messages > 3, 'the exchange went through the key link');
  });

  it('plug and unplug on the endpoint side are seen by the host: read error, then the key listed again', async () => {
    const issuer = new TestIssuer();
    const { applet } = await issuedApplet(issuer);
    const key = new SimHidKey(applet);
    const { hid } = await serve([key]);
    const source = await HidKeySource.open({ hid, pollIntervalMs: 0 });
    cleanups.push(() => source.close());
    const reader: HidCardReader = await source.waitForReader(() => true, 2000);
    const client = new CardClient(reader);
    await client.select();

    const events: string[] = [];
    reader.on('removed', () => events.push('removed'));
    reader.on('card', () => events.push('card'));
    const removed = new Promise<void>((r) => reader.once('end', () => r()));
    key.unplug();
    await removed; // the open device's read error, pushed by the endpoint: no poll needed
    assert.deepEqual(events, ['removed'], 'removed on the read error');
    await waitUntil(() => hid.devices().length === 0, 'the device list push');
    await source.poll();
    assert.deepEqual(source.list(), [], 'no key while pulled');

    key.plug();
    await waitUntil(() => hid.devices().length === 1, 'the device list push after plug');
    assert.equal(hid.devices()[0]!.path, key.info.path, 'the new path (a replug changes it)');
    await source.poll();
    assert.deepEqual(events, ['removed', 'card'], 'the same reader comes back');
    await client.select();
    const info = await client.getInfo();
    assert.equal(info.balance, 100_000, 'works again after the replug');
  });

  it('an open device sees a read error when the endpoint goes away, and the next listing reconnects', async () => {
    const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())));
    const { hid, endpoint, addr } = await serve([key]);
    const device = await hid.HIDAsync.open(key.info.path!);
    const failed = new Promise<unknown>((r) => device.on('error', r));
    device.on('data', () => undefined);
    await endpoint.close(); // `sim hid` stopped
    const err = await failed;
    assert.match(String((err as Error).message), /could not read from HID device/);
    await assert.rejects(device.write([0, ...new Array<number>(64).fill(0)]), /Cannot write to hid device/);
    assert.deepEqual(hid.devices(), [], 'no keys while the endpoint is gone');
    const restarted = new SimHidEndpoint([key], { log: () => undefined });
    await restarted.listen({ port: addr.port }); // `sim hid` started again on the same address
    cleanups.push(() => restarted.close());
    assert.equal((await hid.devicesAsync()).length, 1, 'reconnected on the next listing');
  });

  it('open of an unknown path fails as node-hid does, and an unreachable endpoint is TRANSPORT_UNAVAILABLE', async () => {
    const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())));
    const { hid, endpoint, addr } = await serve([key]);
    await assert.rejects(hid.HIDAsync.open('sim-hid:nope:1'), /cannot open device with path sim-hid:nope:1/);
    await endpoint.close();
    hid.close();
    const again = new RemoteNodeHid(addr, { connectTimeoutMs: 1000 });
    await assert.rejects(
      again.devicesAsync(),
      (e: unknown) => e instanceof TransportError && e.code === 'TRANSPORT_UNAVAILABLE' && e.hint.includes('sim hid'),
    );
  });

  it('refuses to listen on a non-loopback host (SIM_HID_NOT_LOOPBACK), and a client refuses one too', async () => {
    const endpoint = new SimHidEndpoint([]);
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'example.com'])
      await assert.rejects(
        endpoint.listen({ host, port: 0 }),
        (e: unknown) => e instanceof CardpostError && e.code === 'SIM_HID_NOT_LOOPBACK' && e.hint.length > 0,
        host,
      );
    assert.throws(
      () => new RemoteNodeHid({ host: '10.0.0.1', port: 4000 }),
      (e: unknown) => e instanceof TransportError && e.code === 'TRANSPORT_UNAVAILABLE',
    );
    assert.equal(parseLoopbackEndpoint('10.0.0.1:4000'), undefined);
    assert.deepEqual(parseLoopbackEndpoint('[::1]:4000'), { host: '::1', port: 4000 });
    assert.deepEqual(parseLoopbackEndpoint('127.0.0.1:65535'), { host: '127.0.0.1', port: 65535 });
    assert.equal(parseLoopbackEndpoint('127.0.0.1:0'), undefined);
  });

  it('`cardpost sim hid` refuses a non-loopback --listen and a bad --keys or --state count, before serving anything', async () => {
    const out: string[] = [];
    const run = (args: string[]) =>
      simHidCommand({ out: (l) => out.push(l), setExitCode: () => undefined })
        .exitOverride()
        .parseAsync(args, { from: 'user' });
    const code = (c: string) => (e: unknown) => e instanceof CardpostError && e.code === c && e.hint.length > 0;
    await assert.rejects(run(['--listen', '0.0.0.0:0']), code('CLI_ADDRESS'));
    await assert.rejects(run(['--listen', '192.168.1.5:4000']), code('CLI_ADDRESS'));
    await assert.rejects(run(['--keys', '99']), code('CLI_USAGE'));
    await assert.rejects(run(['--keys', '0']), code('CLI_USAGE'));
    await assert.rejects(run(['--keys', '2', '--state', 'a.json']), code('CLI_USAGE'));
    assert.ok(!out.some((l) => l.startsWith('hid endpoint')), 'no endpoint announced');
  });

  it('the daemon config refuses a non-loopback readers.hidEndpoint with CONFIG_INVALID naming the field', () => {
    const env = {};
    for (const bad of [
      '192.168.1.5:4000',
      '0.0.0.0:4000',
      'example.com:4000',
      '127.0.0.1',
      '127.0.0.1:0',
      '127.0.0.1:70000',
    ])
      assert.throws(
        () => loadConfig({ env, overrides: { readers: { pcsc: false, hidEndpoint: bad } } }),
        (e: unknown) =>
          e instanceof ConfigError && e.code === 'CONFIG_INVALID' && e.message.includes('readers.hidEndpoint'),
        bad,
      );
    const ok = loadConfig({ env, overrides: { readers: { pcsc: false, hidEndpoint: '127.0.0.1:40123' } } });
    assert.equal(ok.readers.hidEndpoint, '127.0.0.1:40123');
    assert.equal(ok.readers.hid, false, 'hid stays as configured: the endpoint implies it in the daemon');
  });
});

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
