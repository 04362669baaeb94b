import { cardTearingSuite } from '../conformance/card-tearing-suite.js';

/**
 * Tearing against the Cortex-M4 image under QEMU with the cut write TORN halfway (half of a program's
 * bytes reach the file-backed flash, half of an erased page is erased), as real flash does when the
 * power goes during an operation. The firmware ends QEMU at that write; the next power-on starts QEMU
 * again on the same flash file. (The cut-after-the-write run is in test/conformance/card-qemu.test.ts.)
 * A torn last write may leave the command undone, so the two journal recovery cases do not run here.
 */
cardTearingSuite('qemu', 'ARM image under QEMU, cut write torn halfway', { cutMode: 'during', lastWriteLands: false });
