import { cardImpl } from '../conformance/card-impls.js';
import { blackBoxActiveStorm } from '../fuzz/card-storm-blackbox.js';
import { fuzzSeed, FUZZ_ROUNDS, hexSeed } from '../support/fuzz.js';
import { requireSystem } from '../support/system.js';

/**
 * The seeded APDU storm (test/fuzz/card-storm-blackbox.ts, as test/firmware/native-fuzz.test.ts runs it
 * against the native card) against the Cortex-M4 image under QEMU: never an exception, never 6F00, Le
 * respected, and after every CBOR command the purse, read from a copy of the card's flash (a second
 * QEMU on a copy of the flash file), moved only as the storm's own requests allow. Fewer steps than the
 * native run: every copy is a QEMU start. FUZZ_SEED / FUZZ_ROUNDS as there.
 */
const SEED = fuzzSeed(0xa4_0de1);
const STEPS = 600 * FUZZ_ROUNDS;

describe(`fuzz: APDU storm against the ARM image under QEMU, black-box (seed ${hexSeed(SEED)})`, function () {
  this.timeout(900_000);
  it(`an active card with a balance: never throws, never 6F00, purse invariants hold (${STEPS} steps)`, async function () {
    const factory = await cardImpl('qemu');
    const why = factory.unavailable();
    if (why) requireSystem(this, [why], 'the qemu card');
    const cut = factory.open({ journalCapacity: 64, extendedLength: true });
    try {
      await blackBoxActiveStorm(cut, SEED, STEPS);
    } finally {
      cut.close();
    }
  });
});
