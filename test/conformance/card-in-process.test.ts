import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { cardConformanceSuite } from './card-suite.js';

function inProcess(opts: { readerExtended: boolean; cardExtended: boolean }) {
  return async () => {
    const applet = new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: opts.cardExtended });
    const reader = new InProcessReader({ extendedLength: opts.readerExtended });
    reader.insert(applet);
    return {
      reader,
      reinsert: async () => {
        reader.remove();
        reader.insert(applet);
      },
      close: async () => {
        reader.remove();
      },
    };
  };
}

cardConformanceSuite('in-process applet, extended APDUs', inProcess({ readerExtended: true, cardExtended: true }));
cardConformanceSuite(
  'in-process applet, short APDUs only (chaining)',
  inProcess({ readerExtended: false, cardExtended: false }),
);
