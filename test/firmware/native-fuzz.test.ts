import { cardImpl, type CardImpl } from '../conformance/card-impls.js';
import { blackBoxActiveStorm } from '../fuzz/card-storm-blackbox.js';
import { fuzzSeed, FUZZ_ROUNDS, hexSeed } from '../support/fuzz.js';
import { requireSystem } from '../support/system.js';

/**
 * The seeded APDU storm of test/fuzz/card-applet.test.ts against the C applet in-process, seen from
 * outside (test/fuzz/card-storm-blackbox.ts): never an exception, never 6F00, Le respected, and
 * after every CBOR command the purse, read from a copy of the card's flash, moved only by a record
 * answering a request the storm sent or by a genuine top-up. FUZZ_SEED / FUZZ_ROUNDS as there.
 */
const SEED = fuzzSeed(0xca_4d01);

function storm(impl: CardImpl, label: string): void {
  describe(`fuzz: APDU storm against the ${label}, black-box (seed ${hexSeed(SEED)})`, function () {
    this.timeout(600_000);
    it(`an active card with a balance: never throws, never 6F00, purse invariants hold (seed ${hexSeed(SEED)})`, async function () {
      const factory = await cardImpl(impl);
      const why = factory.unavailable();
      if (why) requireSystem(this, [why], `the ${impl} card`);
      // 64: the most journal records the C store keeps (CP_JOURNAL_MAX_CAPACITY)
      const cut = factory.open({ journalCapacity: 64, extendedLength: true });
      try {
        await blackBoxActiveStorm(cut, SEED, 4_000 * FUZZ_ROUNDS);
      } finally {
        cut.close();
      }
    });
  });
}

storm('native', 'C applet (native binding)');
