import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { SimHidKey, SimNodeHid } from '../../device-sim/hid/index.js';
import { HidKeySource } from '../../host/transports/hid/index.js';
import { cardImpl } from './card-impls.js';
import { cardConformanceSuite } from './card-suite.js';
import { REQUIRE_SYSTEM } from '../support/system.js';

/**
 * The card conformance suite against the C applet (firmware-bindings/core) in-process, through the
 * Node binding (firmware-bindings/node/native-card.ts) and the same in-process reader as
 * card-in-process.test.ts: with extended APDUs, and short APDUs only (the host chains).
 * And once inside the simulated USB HID key (as card-hid.test.ts), which takes any VirtualCard.
 * Without the addon (no C compiler at install) the suites skip, or fail under REQUIRE_SYSTEM=1.
 */
async function openNative(cardExtended: boolean) {
  const factory = await cardImpl('native');
  const why = factory.unavailable();
  if (why) {
    if (REQUIRE_SYSTEM) throw new Error(`REQUIRE_SYSTEM=1 but the native card is unavailable: ${why}`);
    console.log(`      skipped: ${why}`);
    return undefined;
  }
  return factory.open({ extendedLength: cardExtended });
}

function nativeInProcess(opts: { readerExtended: boolean; cardExtended: boolean }) {
  return async () => {
    const cut = await openNative(opts.cardExtended);
    if (!cut) return undefined;
    const reader = new InProcessReader({ extendedLength: opts.readerExtended });
    reader.insert(cut.card);
    return {
      reader,
      reinsert: async () => {
        reader.remove();
        reader.insert(cut.card);
      },
      close: async () => {
        reader.remove();
        cut.close();
      },
    };
  };
}

cardConformanceSuite('native C applet, extended APDUs', nativeInProcess({ readerExtended: true, cardExtended: true }));
cardConformanceSuite(
  'native C applet, short APDUs only (chaining)',
  nativeInProcess({ readerExtended: false, cardExtended: false }),
);

cardConformanceSuite('native C applet in the simulated USB HID key, short APDUs only (chaining)', async () => {
  const cut = await openNative(false);
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
});
