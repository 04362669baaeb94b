import { strict as assert } from 'node:assert';
import { buildMap, encodeCanonical, type CborValue } from '../../protocol/cbor/index.js';
import { DecodeError } from '../../protocol/errors.js';
import {
  MSG,
  decodeMessage,
  encodeMessage,
  pinChangeOutcome,
  pinChangeOutcomeFromSw,
  pinEntryOutcome,
  pinOutcomeFromSw,
  type MessageOf,
} from '../../protocol/terminal/index.js';
import { SimPinPad, type PadCard } from '../../device-sim/terminal/pin-pad.js';

/** PIN_ENTRY key 7 (mode) and PIN_RESULT "changed" (docs/protocol.md §13.4), and the simulated pad's dialogue. */
const enc = (entries: [number, CborValue][]) => encodeCanonical(buildMap(entries));
const schemaError = (pattern: RegExp) => (e: unknown) =>
  e instanceof DecodeError && e.code === 'CBOR_SCHEMA' && pattern.test(e.message);

describe('serial terminal messages: PIN_ENTRY modes', () => {
  it('change and unblock carry no amount or currency; verify keeps them; all round-trip canonically', () => {
    const cases: MessageOf<'PIN_ENTRY'>[] = [
      { type: 'PIN_ENTRY', requestId: 1, mode: 'change', timeoutMs: 120_000 },
      { type: 'PIN_ENTRY', requestId: 2, mode: 'unblock', triesLeft: 10, timeoutMs: 600_000 },
      { type: 'PIN_ENTRY', requestId: 3, mode: 'verify', amount: 5, currency: 156, timeoutMs: 1000 },
      { type: 'PIN_ENTRY', requestId: 4, amount: 5, currency: 156, timeoutMs: 1000 },
    ];
    for (const m of cases) {
      const bytes = encodeMessage(m);
      assert.deepEqual(decodeMessage(bytes), m);
    }
    // mode absent is today's message, byte for byte: older terminals understand a verify entry
    assert.equal(
      Buffer.from(encodeMessage(cases[3]!)).toString('hex'),
      Buffer.from(
        enc([
          [1, MSG.PIN_ENTRY],
          [2, 4],
          [3, 5],
          [4, 156],
          [6, 1000],
        ]),
      ).toString('hex'),
    );
    assert.deepEqual(decodeMessage(encodeMessage({ type: 'PIN_RESULT', requestId: 9, outcome: 'changed' })), {
      type: 'PIN_RESULT',
      requestId: 9,
      outcome: 'changed',
    });
  });

  it('refuses malformed modes as MSG_INVALID, naming the field: unknown or mistyped mode, an amount with change, none with verify', () => {
    const base: [number, CborValue][] = [
      [1, MSG.PIN_ENTRY],
      [2, 7],
      [6, 60_000],
    ];
    const bad: [string, [number, CborValue][], RegExp][] = [
      ['unknown mode', [...base, [7, 'reset']], /field 7 \(mode\) must be one of/],
      ['mode in capitals', [...base, [7, 'CHANGE']], /field 7 \(mode\)/],
      ['mode as a number', [...base, [7, 2]], /field 7 \(mode\)/],
      ['empty mode', [...base, [7, '']], /field 7 \(mode\)/],
      [
        'change with an amount',
        [...base, [3, 100], [7, 'change']],
        /field 3 \(amount\) must be absent when mode is "change"/,
      ],
      [
        'unblock with a currency',
        [...base, [4, 156], [7, 'unblock']],
        /field 4 \(currency\) must be absent when mode is "unblock"/,
      ],
      ['verify without an amount', [...base, [4, 156], [7, 'verify']], /field 3 \(amount\) is required/],
      ['no mode and no amount', [...base, [4, 156]], /field 3 \(amount\) is required/],
      [
        'change with a time-out too long',
        [
          [1, MSG.PIN_ENTRY],
          [2, 7],
          [6, 600_001],
          [7, 'change'],
        ],
        /timeoutMs/,
      ],
      ['change with tries 16', [...base, [5, 16], [7, 'change']], /triesLeft/],
      ['a PIN field', [...base, [7, 'change'], [8, '1234']], /unknown field 8/],
    ];
    for (const [what, entries, pattern] of bad)
      assert.throws(() => decodeMessage(enc(entries)), schemaError(pattern), what);
    assert.throws(
      () =>
        decodeMessage(
          enc([
            [1, MSG.PIN_RESULT],
            [2, 7],
            [3, 'unblocked'],
          ]),
        ),
      schemaError(/outcome/),
    );
  });

  it('maps status words: 9000 changed, 63Cx wrong with x tries, 63C0 and 6983 blocked, others none', () => {
    assert.deepEqual(pinChangeOutcomeFromSw(0x9000), { result: 'changed' });
    assert.deepEqual(pinChangeOutcomeFromSw(0x63c4), { result: 'wrong', triesLeft: 4 });
    assert.deepEqual(pinChangeOutcomeFromSw(0x63c0), { result: 'blocked' });
    assert.deepEqual(pinChangeOutcomeFromSw(0x6983), { result: 'blocked' });
    assert.equal(pinChangeOutcomeFromSw(0x6985), undefined);
    assert.equal(pinChangeOutcomeFromSw(0x6a80), undefined);
    assert.deepEqual(pinOutcomeFromSw(0x9000), { result: 'verified' });
  });

  it('the host refuses an outcome that does not fit the mode (changed for verify, verified for change)', () => {
    assert.equal(pinEntryOutcome({ outcome: 'changed' }), undefined);
    assert.equal(pinChangeOutcome({ outcome: 'verified' }), undefined);
    assert.deepEqual(pinChangeOutcome({ outcome: 'wrong', triesLeft: 2 }), { result: 'wrong', triesLeft: 2 });
    assert.deepEqual(pinChangeOutcome({ outcome: 'changed' }), { result: 'changed' });
    assert.deepEqual(pinEntryOutcome({ outcome: 'timeout' }), { result: 'timeout' });
  });
});

/** A card that records the ISO PIN commands it gets and answers from a script. */
function scriptedCard(answers: number[]): PadCard & { apdus: string[] } {
  const apdus: string[] = [];
  return {
    apdus,
    transmit: (apdu) => {
      apdus.push(Buffer.from(apdu).toString('hex').toUpperCase());
      const sw = answers.shift() ?? 0x6f00;
      return Uint8Array.of(sw >> 8, sw & 0xff);
    },
  };
}

function pad(card: PadCard | undefined, extra: Partial<ConstructorParameters<typeof SimPinPad>[0]> = {}) {
  const shown: string[][] = [];
  const p = new SimPinPad({ show: (l) => shown.push(l), card: () => card, ...extra });
  return { p, shown };
}

const change = (requestId = 5, timeoutMs = 60_000): MessageOf<'PIN_ENTRY'> => ({
  type: 'PIN_ENTRY',
  requestId,
  mode: 'change',
  timeoutMs,
});

describe('simulated terminal PIN pad: change and unblock dialogues', () => {
  it('change: current PIN, new twice → CHANGE REFERENCE DATA with two format 2 blocks; 9000 → changed', async () => {
    const card = scriptedCard([0x9000]);
    const { p, shown } = pad(card);
    p.press('739158', '482916', '482916');
    assert.deepEqual(await p.run(change()), { type: 'PIN_RESULT', outcome: 'changed' });
    assert.deepEqual(card.apdus, ['002400801026739158FFFFFFFF26482916FFFFFFFF']);
    assert.ok(
      shown.some((l) => l.some((x) => x.includes('Current PIN'))),
      'prompts on its display',
    );
  });

  it('re-asks the new PIN when it is weak, unchanged or the confirmation differs, saying why; then sends once', async () => {
    const card = scriptedCard([0x9000]);
    const { p, shown } = pad(card);
    p.press('739158', '1111', '123456', '739158', '482916', '482917', '482916', '482916');
    assert.deepEqual(await p.run(change()), { type: 'PIN_RESULT', outcome: 'changed' });
    assert.equal(card.apdus.length, 1, 'one command reaches the card');
    const notices = shown.flat().join('\n');
    for (const why of ['repeated', '1234', 'Same as the old PIN', 'PINs differ'])
      assert.ok(notices.includes(why), `the display says ${why}`);
  });

  it('unblock: an 8–12 digit PUK (a shorter one asked again) → RESET RETRY COUNTER; 63C9 → wrong with PUK tries', async () => {
    const card = scriptedCard([0x63c9]);
    const { p } = pad(card);
    p.press('1234', '12345678', '482916', '482916');
    assert.deepEqual(await p.run({ type: 'PIN_ENTRY', requestId: 6, mode: 'unblock', timeoutMs: 60_000 }), {
      type: 'PIN_RESULT',
      outcome: 'wrong',
      triesLeft: 9,
    });
    assert.equal(card.apdus.length, 1);
    assert.ok(card.apdus[0]!.startsWith('002C0080102812345678FFFFFF2648291'), card.apdus[0]);
  });

  it('cancel, the host CANCEL, time-out, no card, busy, blocked and a status word that is no outcome', async () => {
    const card = scriptedCard([0x6983, 0x6985]);
    const { p } = pad(card);
    p.press('739158', 'cancel');
    assert.deepEqual(await p.run(change()), { type: 'PIN_RESULT', outcome: 'cancelled' });
    const pending = p.run(change(8));
    p.cancel(7); // not this entry
    p.cancel(8);
    assert.deepEqual(await pending, { type: 'PIN_RESULT', outcome: 'cancelled' });
    assert.deepEqual(await p.run(change(9, 50)), { type: 'PIN_RESULT', outcome: 'timeout' });
    const first = p.run(change(10));
    assert.deepEqual(await p.run(change(11)), {
      type: 'ERROR',
      code: 'BUSY',
      message: 'a PIN entry is already in progress',
    });
    p.press('739158', '482916', '482916');
    assert.deepEqual(await first, { type: 'PIN_RESULT', outcome: 'blocked' });
    p.press('739158', '482916', '482916');
    const other = await p.run(change(12));
    assert.ok(other.type === 'ERROR' && other.code === 'INTERNAL' && /6985/.test(other.message), JSON.stringify(other));
    assert.deepEqual((await pad(undefined).p.run(change())).type, 'ERROR');
    assert.equal(card.apdus.length, 2, 'cancelled and timed-out entries send nothing');
  });

  it('older firmware (no modes) answers a PIN_ENTRY with key 7 ERROR BAD_MESSAGE and still verifies', async () => {
    const card = scriptedCard([0x9000]);
    const { p } = pad(card, { noModes: true, defaultPin: '739158' });
    const r = await p.run(change());
    assert.ok(r.type === 'ERROR' && r.code === 'BAD_MESSAGE', JSON.stringify(r));
    assert.deepEqual(await p.run({ type: 'PIN_ENTRY', requestId: 2, amount: 100, currency: 156, timeoutMs: 5000 }), {
      type: 'PIN_RESULT',
      outcome: 'verified',
    });
    assert.equal(card.apdus.length, 1);
  });

  it('a pinSource learns which entry is asked', async () => {
    const card = scriptedCard([0x9000]);
    const prompts: string[] = [];
    const answers: Record<string, string> = { current: '739158', new: '482916', confirm: '482916' };
    const { p } = pad(card, {
      pinSource: async (_m, prompt) => {
        prompts.push(prompt);
        return answers[prompt] ?? 'cancel';
      },
    });
    assert.deepEqual(await p.run(change()), { type: 'PIN_RESULT', outcome: 'changed' });
    assert.deepEqual(prompts, ['current', 'new', 'confirm']);
  });
});
