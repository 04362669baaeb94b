import { z } from 'zod';

/**
 * A QA scenario file (YAML or JSON; docs/qa.md). This zod schema is the one definition: the loader
 * validates with it, `scenarios/scenario.schema.json` (for editors) is generated from it, and the
 * engine's types are inferred from it. Every step is a one-key map (`- sale: {...}`), which reads
 * well in YAML and gives the JSON Schema a clean `oneOf`.
 */

/** Money as the merchant writes it: "12.50" (yuan and fen; minor units are integers inside). */
export const money = z
  .string()
  .regex(/^(0|[1-9]\d{0,6})\.\d{2}$/, 'an amount like "12.50": up to 7 digits, no leading zero, and always 2 decimals')
  // One spelling per amount, so an expected amount compares with the found one as text ("12.5" ≠ "12.50").
  .describe('An amount in the currency\'s major unit, as a string with 2 decimals: "12.50"');

/** An amount, or a seeded random amount between two bounds (inclusive, in whole fen). */
export const amountSpec = z.union([
  money,
  z.strictObject({ random: z.tuple([money, money]).describe('[lowest, highest], drawn from the scenario seed') }),
]);

/** Names a scenario gives its cards, readers and steps. */
export const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a name of lower-case letters, digits and "-", starting with a letter');

const digits = z.string().regex(/^\d{4,12}$/, 'a PIN of 4 to 12 digits');

/** The card commands a fault can be armed on (protocol §5). */
export const commandName = z.enum([
  'GET_INFO',
  'VERIFY_PIN',
  'SIGN_TXN',
  'READ_JOURNAL',
  'LOAD',
  'CHANGE_PIN',
  'UNBLOCK_PIN',
  'BLOCK_CARD',
  'VOID_TXN',
]);

export const lineFaultRates = z.strictObject({
  flip: z.number().min(0).max(1).optional().describe('per byte: flip one bit'),
  drop: z.number().min(0).max(1).optional().describe('per byte: lose it'),
  dup: z.number().min(0).max(1).optional().describe('per byte: send it twice'),
  garbage: z.number().min(0).max(1).optional().describe('per chunk: a burst of random bytes before it'),
  split: z.number().min(0).max(1).optional().describe('per chunk: cut in two'),
  merge: z.number().min(0).max(1).optional().describe('per chunk: held back and written with the next'),
});

export const cardSchema = z.strictObject({
  id: name,
  balance: money.default('500.00').describe('loaded when the card is personalised'),
  pin: digits.default('1234'),
  /** The card's limits (its certificate); defaults as `cardpost sim card`: no-PIN 100.00, per sale 2000.00. */
  limits: z
    .strictObject({
      noPin: money.optional(),
      perTransaction: money.optional(),
      offlineAmount: money.optional(),
      offlineCount: z.number().int().min(1).max(65535).optional(),
    })
    .optional(),
  /** Answer-to-reset offering T=0 only, short APDUs only (the host must chain and use GET RESPONSE). */
  t0: z.boolean().default(false),
});

export const readerSchema = z.strictObject({
  id: name,
  /**
   * pcsc: a vpcd slot in real pcscd; serial: a simulated POS terminal on a socat pty; hid: a simulated USB HID key;
   * in-process: a reader inside the daemon's own process with its card (no pcscd; the card stays in this reader).
   */
  medium: z.enum(['pcsc', 'serial', 'hid', 'in-process']),
  /** The card in it at the start (none: empty). A HID key is its card, so is an in-process reader's: they need one. */
  card: name.optional(),
  /** serial: faults on the line from the start (`lineNoise` changes them later). */
  lineFaults: z.strictObject({ send: lineFaultRates.optional(), receive: lineFaultRates.optional() }).optional(),
});

export const bankFaults = z.strictObject({
  down: z
    .union([z.boolean(), z.literal('reset')])
    .optional()
    .describe('503 to every request, or "reset": connections cut'),
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  errorRate: z.number().min(0).max(1).optional(),
  timeoutRate: z.number().min(0).max(1).optional(),
  dropAfterCommitRate: z.number().min(0).max(1).optional().describe('commit the batch, then cut the answer'),
});

export const devicesSchema = z.strictObject({
  cards: z.array(cardSchema).min(1).max(8),
  readers: z.array(readerSchema).min(1).max(6),
  bank: bankFaults.default({}),
  /** The daemon: the few settings a scenario may change (the rest are the runner's). */
  daemon: z
    .strictObject({
      /** Offline limits (daemon.md §7), in money. */
      limits: z.strictObject({ perSale: money.optional(), unsettledAmount: money.optional() }).optional(),
      batchSize: z.number().int().min(1).max(1000).optional(),
    })
    .default({}),
  /** A receipt printer on a socat pty, its ESC/POS decoded by the simulated printer. */
  printer: z.boolean().default(false),
  /** A paired customer display in headless Chromium, for `screenshot` steps. */
  display: z.boolean().default(false),
});

/** What a sale must end as. `paid` is state done with a receipt. */
export const saleOutcome = z.enum(['paid', 'cancelled', 'timed_out', 'failed', 'unconfirmed', 'refused']);

export const saleExpect = z.strictObject({
  outcome: saleOutcome,
  /** The error code (refused at the API, or the sale's error/notice), e.g. PIN_BLOCKED, CARD_REVOKED. */
  code: z.string().optional(),
  /** Whether the receipt says the bank was reachable. */
  online: z.boolean().optional(),
  /** The card's balance after, from the receipt. */
  balanceAfter: money.optional(),
});

export const moneyBackExpect = z.strictObject({
  outcome: z.enum(['done', 'refused', 'failed', 'waiting']),
  code: z.string().optional(),
});

export const expectations = z.strictObject({
  queue: z
    .strictObject({
      pending: z.number().int().min(0).optional(),
      settled: z.number().int().min(0).optional(),
      rejected: z.number().int().min(0).optional(),
      total: z.number().int().min(0).optional(),
    })
    .optional(),
  bank: z
    .strictObject({
      records: z.number().int().min(0).optional().describe('settled rows in the bank ledger'),
      amount: money.optional().describe('sum of settled sales minus reversals'),
      revoked: z.array(name).optional().describe('cards (scenario names) the bank has revoked'),
    })
    .optional(),
  cards: z
    .record(
      name,
      z.strictObject({
        balance: money.optional(),
        counter: z.number().int().min(0).optional(),
        pinTriesLeft: z.number().int().min(0).optional(),
      }),
    )
    .optional(),
  receipts: z.strictObject({ printed: z.number().int().min(0) }).optional(),
  /** Daemon event types that must (or must not) have been seen on its event stream. */
  events: z.strictObject({ seen: z.array(z.string()).optional(), notSeen: z.array(z.string()).optional() }).optional(),
  /**
   * The invariants: every record the cards signed is in the daemon's queue exactly once, nothing settled
   * twice, the bank's amounts equal the queue's settled ones, each card's balance = loaded − paid + given back.
   */
  nothingLostOrDoubled: z.boolean().optional(),
});

const saleStep = z.strictObject({
  reader: name.optional().describe('bind the sale to this reader (required for a serial terminal)'),
  amount: amountSpec,
  /** PINs typed, one per PIN prompt, in order (the display/counter keypad or the terminal pad); none: cancel at a prompt. */
  pins: z.array(digits).optional(),
  /** A slow hand: how long the customer takes at each PIN prompt of the display/counter keypad before typing. */
  pinDelayMs: z.number().int().min(0).max(600_000).optional(),
  as: name.optional().describe('a label, for void/refund/finish'),
  /** false: start it and go on (finish it later with `finish`). */
  wait: z.boolean().default(true),
  expect: saleExpect.optional(),
});

const readerRef = z.strictObject({ reader: name });

/** Leaf steps (everything but `repeat` and `oneOf`). */
const leafSteps = [
  z.strictObject({ sale: saleStep }),
  z.strictObject({ finish: z.strictObject({ sale: name, expect: saleExpect.optional() }) }),
  z.strictObject({ cancel: z.strictObject({ sale: name }) }),
  z.strictObject({ insert: z.strictObject({ reader: name, card: name }) }),
  z.strictObject({ remove: readerRef }),
  z.strictObject({ pullDuring: z.strictObject({ reader: name, command: commandName }) }),
  z.strictObject({ stallDuring: z.strictObject({ reader: name, command: commandName }) }),
  z.strictObject({
    lineNoise: z.strictObject({ reader: name, send: lineFaultRates.optional(), receive: lineFaultRates.optional() }),
  }),
  z.strictObject({ bank: bankFaults }),
  z.strictObject({ daemon: z.enum(['kill9', 'restart', 'stop', 'start']) }),
  z.strictObject({
    clock: z.strictObject({
      jump: z.string().regex(/^[+-]\d+(ms|s|m|h|d)$/, 'like "+2h", "-10m", "+1d"'),
    }),
  }),
  z.strictObject({
    settle: z
      .strictObject({ timeoutS: z.number().min(1).max(600).default(60), expectAllSettled: z.boolean().default(true) })
      .default({ timeoutS: 60, expectAllSettled: true }),
  }),
  z.strictObject({
    wait: z.strictObject({
      ms: z.number().int().min(0).max(600_000).optional(),
      for: z.enum(['online', 'offline', 'settled', 'card']).optional(),
      reader: name.optional(),
      timeoutS: z.number().min(1).max(600).default(30),
    }),
  }),
  z.strictObject({
    topup: z.strictObject({
      reader: name,
      amount: amountSpec,
      as: name.optional(),
      expect: moneyBackExpect.optional(),
    }),
  }),
  z.strictObject({ void: z.strictObject({ sale: name, expect: moneyBackExpect.optional() }) }),
  z.strictObject({
    refund: z.strictObject({ sale: name, amount: money.optional(), expect: moneyBackExpect.optional() }),
  }),
  z.strictObject({ reportLost: z.strictObject({ card: name, expect: moneyBackExpect.optional() }) }),
  z.strictObject({ screenshot: z.strictObject({ label: z.string().min(1).max(80) }) }),
  z.strictObject({ check: expectations }),
] as const;

export type LeafStep = z.infer<(typeof leafSteps)[number]>;

/** Each leaf step's kind (its one key) and the schema of its body: the loader explains a bad step by it. */
export const STEP_BODIES: ReadonlyMap<string, z.ZodType> = new Map(
  leafSteps.map((s) => {
    const [kind, body] = Object.entries(s.shape)[0]!;
    return [kind, body as z.ZodType];
  }),
);

/** Every step kind a scenario may use, leaves first, then the two that hold steps. */
export const STEP_KINDS: readonly string[] = [...STEP_BODIES.keys(), 'repeat', 'oneOf'];

/** The body of `repeat` without its steps (they are checked one by one). */
export const repeatTimes = z.number().int().min(1).max(100_000);

/** A step: a leaf, `repeat` (the same steps n times) or `oneOf` (one of them, drawn from the seed). */
export type Step = LeafStep | { repeat: { times: number; steps: Step[] } } | { oneOf: Step[] };

export const stepSchema: z.ZodType<Step> = z.lazy(() =>
  z.union([
    ...leafSteps,
    z.strictObject({ repeat: z.strictObject({ times: repeatTimes, steps: z.array(stepSchema).min(1) }) }),
    z.strictObject({ oneOf: z.array(stepSchema).min(2) }),
  ]),
);

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().min(1).max(120),
    description: z.string().max(2000).optional(),
    tags: z.array(z.string().min(1).max(32)).default([]),
    /** Seed of every random choice (amounts, oneOf, line faults, bank faults); `qa run --seed` overrides it. */
    seed: z.number().int().min(0).max(0xffff_ffff).default(1),
    devices: devicesSchema,
    steps: z.array(stepSchema).min(1),
    /** Checked after the last step. */
    expect: expectations.optional(),
  })
  .meta({
    title: 'cardpost QA scenario',
    description:
      'A scenario for `cardpost qa run`: the simulated devices, the steps run against the real daemon, and what must hold afterwards (docs/qa.md).',
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Devices = Scenario['devices'];
export type CardSpec = z.output<typeof cardSchema>;
export type ReaderSpec = z.output<typeof readerSchema>;
export type BankFaults = z.output<typeof bankFaults>;
export type Expectations = z.output<typeof expectations>;
export type SaleExpect = z.output<typeof saleExpect>;
export type AmountSpec = z.output<typeof amountSpec>;
export type LineFaultRatesSpec = z.output<typeof lineFaultRates>;
