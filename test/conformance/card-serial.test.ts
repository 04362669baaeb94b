import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimTerminal } from '../../device-sim/terminal/index.js';
import { SerialTerminal } from '../../host/transports/serial/index.js';
import { startPtyPair, socatPath } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';
import { openForSuite, type CardImpl } from './card-impls.js';
import { cardConformanceSuite } from './card-suite.js';

/**
 * The card conformance suite through a serial POS terminal's slot: APDUs tunnelled as APDU
 * messages over the §13 link, on a real socat pty pair, to the simulated terminal holding the card.
 */
const channel = { link: { ackTimeoutMs: 40, interByteTimeoutMs: 15, msPerByte: 0 }, resendMs: 500, heartbeatMs: 500 };

function serialSlot(extendedLength: boolean, impl: CardImpl = 'ts') {
  return async () => {
    if (!socatPath()) return undefined;
    const cut = await openForSuite(impl, { extendedLength });
    if (!cut) return undefined;
    const dir = mkdtempSync(join(tmpdir(), 'cardpost-conf-serial-'));
    const pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
    const applet = cut.card;
    const sim = new SimTerminal({ path: join(dir, 'term'), channel, extendedLength }).start();
    const host = new SerialTerminal({ path: join(dir, 'host'), channel }).start();
    sim.insert(applet);
    await host.whenConnected(10_000);
    const reader = host.cardReader;
    const cardEvent = (name: 'card' | 'removed') => new Promise<void>((r) => reader.once(name, () => r()));
    if (!reader.cardPresent) await cardEvent('card');
    return {
      reader,
      reinsert: async () => {
        const out = cardEvent('removed');
        sim.remove();
        await out;
        const back = cardEvent('card');
        sim.insert(applet);
        await back;
      },
      close: async () => {
        await host.close();
        await sim.stop();
        await pty.kill();
        cut.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

describe("card in a serial terminal's slot (socat pty pair)", function () {
  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  cardConformanceSuite('simulated card in the simulated serial terminal, extended APDUs', serialSlot(true));
  cardConformanceSuite('simulated card in the simulated serial terminal, short APDUs (chaining)', serialSlot(false));
  cardConformanceSuite('native C card in the simulated serial terminal, extended APDUs', serialSlot(true, 'native'));
  cardConformanceSuite('ARM card image under QEMU in the simulated serial terminal', serialSlot(true, 'qemu'));
});
