import { cardTriesTearingSuite } from '../conformance/card-tries-tearing-suite.js';

/** Security #12 hole 5 against the C applet in-process: the last PIN / PUK try, cut at every write. */
cardTriesTearingSuite('native', 'C applet');
