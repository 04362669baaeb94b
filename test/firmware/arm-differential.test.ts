import { differentialSuite } from '../conformance/card-differential-suite.js';

/** The ARM image under QEMU against the TypeScript applet, APDU by APDU. */
differentialSuite('qemu', 'ARM image under QEMU', 200);
