import { QemuReader } from '../../firmware-bindings/arm/qemu-card.js';
import { armImagesReady } from '../firmware/arm-support.js';
import { cardConformanceSuite } from './card-suite.js';
import { cardTearingSuite } from './card-tearing-suite.js';

/**
 * The conformance suite against the Cortex-M4 build of the C applet (build/firmware-arm/cardpost-card.elf)
 * under qemu-system-arm, through QemuReader (a CardReader with the QEMU card inserted); and the tearing
 * suite through the 'qemu' CardUnderTest (a power cut = the firmware ending QEMU at the chosen flash
 * write; the next power-on starts QEMU again on the same flash file).
 */
function qemu(opts: { readerExtended: boolean; cardExtended: boolean }) {
  return async () => {
    if (!armImagesReady()) return undefined;
    const reader = new QemuReader({
      extendedLength: opts.cardExtended,
      reader: { extendedLength: opts.readerExtended },
    });
    return {
      reader,
      reinsert: async () => {
        reader.remove();
        reader.insert(reader.qemuCard);
      },
      close: async () => {
        reader.close();
      },
    };
  };
}

cardConformanceSuite('ARM image under QEMU, extended APDUs', qemu({ readerExtended: true, cardExtended: true }));
cardConformanceSuite(
  'ARM image under QEMU, short APDUs only (chaining)',
  qemu({ readerExtended: false, cardExtended: false }),
);
cardTearingSuite('qemu', 'ARM image under QEMU');
