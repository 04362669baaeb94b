import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { openForSuite, type CardImpl } from './card-impls.js';
import { cardConformanceSuite } from './card-suite.js';

/**
 * The card conformance suite through the in-process reader, against the TypeScript applet and the C
 * applet (firmware-bindings/core, through the Node binding): with extended APDUs, and short APDUs only
 * (the host chains). Without the addon (no C compiler at install) the native suites skip, or fail under
 * REQUIRE_SYSTEM=1. (The ARM image has its own reader: card-qemu.test.ts.)
 */
function inProcess(opts: { readerExtended: boolean; cardExtended: boolean; impl?: CardImpl }) {
  return async () => {
    const cut = await openForSuite(opts.impl ?? 'ts', { extendedLength: opts.cardExtended });
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

cardConformanceSuite('in-process applet, extended APDUs', inProcess({ readerExtended: true, cardExtended: true }));
cardConformanceSuite(
  'in-process applet, short APDUs only (chaining)',
  inProcess({ readerExtended: false, cardExtended: false }),
);
cardConformanceSuite(
  'native C applet, extended APDUs',
  inProcess({ readerExtended: true, cardExtended: true, impl: 'native' }),
);
cardConformanceSuite(
  'native C applet, short APDUs only (chaining)',
  inProcess({ readerExtended: false, cardExtended: false, impl: 'native' }),
);
