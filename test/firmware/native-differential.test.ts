import { differentialSuite } from '../conformance/card-differential-suite.js';

/** The C applet in-process (Node binding) against the TypeScript applet, APDU by APDU. */
differentialSuite('native', 'C applet', 1_500);
