import { cardCompactionTearingSuite, cardTearingSuite } from '../conformance/card-tearing-suite.js';

/**
 * Tearing against the C applet in-process (firmware-bindings/node/): the suite of
 * test/conformance/card-tearing-suite.ts, every write index of every writing command. A physical
 * write of the native card is one flash program or one page erase.
 *
 * Twice: with the cut write completed (as the TypeScript card's Nvm), and with the cut write torn
 * halfway (half of a program's bytes, half of an erased page), as real flash does when the power
 * goes during an operation. A torn last write may leave the command undone, so the two journal
 * recovery cases, which assume it lands, run only in the first mode.
 */
cardTearingSuite('native', 'C applet, cut after the write');
cardTearingSuite('native', 'C applet, cut write torn halfway', { cutMode: 'during', lastWriteLands: false });

cardCompactionTearingSuite('native', 'C applet, cut after the write');
cardCompactionTearingSuite('native', 'C applet, cut write torn halfway', { cutMode: 'during' });
