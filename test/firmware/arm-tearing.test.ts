import { cardTearingSuite } from '../conformance/card-tearing-suite.js';
import type { CardImplFactory, CardUnderTest } from '../conformance/card-impls.js';
import type { QemuCard } from '../../firmware-bindings/arm/qemu-card.js';

/**
 * Tearing against the Cortex-M4 image under QEMU with the cut write TORN halfway (half of a program's
 * bytes reach the file-backed flash, half of an erased page is erased), as real flash does when the
 * power goes during an operation. The firmware ends QEMU at that write; the next power-on starts QEMU
 * again on the same flash file. (The cut-after-the-write run is in test/conformance/card-qemu.test.ts.)
 * A torn last write may leave the command undone, so the two journal recovery cases do not run here.
 */
const torn = (f: CardImplFactory): CardImplFactory => {
  const wrapCut = (c: CardUnderTest): CardUnderTest => ({
    impl: c.impl,
    card: c.card,
    cutPowerAfter: (n) => (c.card as QemuCard).cutPowerAfter(n, 'during'),
    get writeCount() {
      return c.writeCount;
    },
    get alive() {
      return c.alive;
    },
    powerCycle: () => c.powerCycle(),
    clone: () => wrapCut(c.clone()),
    close: () => c.close(),
  });
  return { impl: f.impl, unavailable: () => f.unavailable(), open: (o) => wrapCut(f.open(o)) };
};
cardTearingSuite('qemu', 'ARM image under QEMU, cut write torn halfway', { wrap: torn, lastWriteLands: false });
