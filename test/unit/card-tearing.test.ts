import { cardTearingSuite } from '../conformance/card-tearing-suite.js';

/**
 * Tearing against the TypeScript applet: the power cut after every NVM write of every writing
 * command, in test/conformance/card-tearing-suite.ts (shared with the C card,
 * test/firmware/native-tearing.test.ts).
 */
cardTearingSuite('ts', 'TypeScript applet');
