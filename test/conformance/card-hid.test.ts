import { SimHidKey, SimNodeHid } from '../../device-sim/hid/index.js';
import { HidKeySource } from '../../host/transports/hid/index.js';
import { openForSuite, type CardImpl } from './card-impls.js';
import { cardConformanceSuite } from './card-suite.js';

/**
 * The card conformance suite through the host's HID transport (HidKeySource → HidCardReader →
 * CTAPHID-style MSG messages) into a simulated card key holding the applet. "Reinsert" is the only
 * way to power-cycle a key's card: pull the key and plug it back, which also exercises the
 * transport noticing the unplug and re-attaching the returning key to the same reader object.
 */
function hidKey(opts: { cardExtended: boolean; impl?: CardImpl }) {
  return async () => {
    const cut = await openForSuite(opts.impl ?? 'ts', { extendedLength: opts.cardExtended });
    if (!cut) return undefined;
    const key = new SimHidKey(cut.card);
    const hid = new SimNodeHid([key]);
    const source = await HidKeySource.open({ hid, pollIntervalMs: 0 });
    const reader = await source.waitForReader(() => true, 1000);
    return {
      reader,
      reinsert: async () => {
        key.unplug();
        await source.poll();
        key.plug();
        await source.poll();
      },
      close: async () => {
        source.close();
        key.unplug();
        cut.close();
      },
    };
  };
}

cardConformanceSuite(
  'simulated USB HID key (MSG over CTAPHID-style packets), extended APDUs',
  hidKey({ cardExtended: true }),
);
cardConformanceSuite('simulated USB HID key, short APDUs only (chaining)', hidKey({ cardExtended: false }));
cardConformanceSuite(
  'native C applet in the simulated USB HID key, short APDUs only (chaining)',
  hidKey({ cardExtended: false, impl: 'native' }),
);
