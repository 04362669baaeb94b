import { CardpostError } from '../../../protocol/errors.js';
import type { Devices } from '../scenario-schema.js';

/** How hard the soak's faults come: none, light (about one round in five), heavy (one in two, harsher). */
export const FAULT_MODES = ['none', 'light', 'heavy'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export type Medium = 'pcsc' | 'serial' | 'hid';
const MEDIA: readonly Medium[] = ['pcsc', 'serial', 'hid'];

/** The mix: two PC/SC readers, one serial terminal, one HID key. */
export const DEFAULT_READERS: readonly Medium[] = ['pcsc', 'pcsc', 'serial', 'hid'];

export interface SoakOptions {
  minutes: number;
  seed: number;
  cards: number;
  /** Directory soak.json is written to. */
  out: string;
  faults: FaultMode;
  /** The readers, one medium each, in order (`--readers serial,hid`). */
  readers: readonly Medium[];
}

/** Each card's PIN (the soak types it right, and sometimes a wrong one first). */
export const SOAK_PIN = '2580';
export const WRONG_PIN = '9999';
/** Sales above this need the PIN (the card's no-PIN limit, minor units). */
export const NO_PIN_LIMIT = 10_000;

const invalid = (what: string, hint: string) => new CardpostError('QA_SOAK_OPTIONS_INVALID', what, hint);

/** "serial,hid" → ['serial', 'hid']. */
export function parseReaderMix(text: string): Medium[] {
  const media = text.split(',').map((m) => m.trim());
  for (const m of media)
    if (!MEDIA.includes(m as Medium))
      throw invalid(
        `--readers: "${m}" is not a reader medium`,
        'list media from pcsc, serial, hid, e.g. --readers serial,hid',
      );
  return media as Medium[];
}

export function validateSoakOptions(o: SoakOptions): SoakOptions {
  if (!(o.minutes > 0 && o.minutes <= 24 * 60))
    throw invalid(`--minutes ${o.minutes}: give a duration from 0.1 to 1440 minutes`, 'e.g. --minutes 10');
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffff_ffff)
    throw invalid(`--seed ${o.seed}: the seed is an integer from 0 to 4294967295`, 'e.g. --seed 42');
  if (!Number.isInteger(o.cards) || o.cards < 1 || o.cards > 8)
    throw invalid(`--cards ${o.cards}: from 1 to 8 cards`, 'e.g. --cards 4');
  if (!FAULT_MODES.includes(o.faults))
    throw invalid(`--faults ${String(o.faults)}: one of ${FAULT_MODES.join(', ')}`, 'e.g. --faults light');
  if (o.readers.length < 1 || o.readers.length > 6)
    throw invalid(`--readers: from 1 to 6 readers, got ${o.readers.length}`, 'e.g. --readers pcsc,pcsc,serial,hid');
  if (o.readers.filter((m) => m === 'pcsc').length > 2)
    throw invalid('--readers: at most 2 pcsc readers (vpcd has two slots)', 'add serial or hid readers instead');
  if (o.readers.length > o.cards)
    throw invalid(
      `--readers: ${o.readers.length} readers need at least as many cards (--cards ${o.cards})`,
      `give --cards ${o.readers.length} or more`,
    );
  return o;
}

/**
 * The soak's devices: cards with room for a long run (large balances, offline limits the bank's
 * outages cannot reach), each reader with a card at the start (a HID key is its card), the rest of the
 * cards spare for swaps.
 */
export function soakDevices(o: SoakOptions): Devices {
  const cards = Array.from({ length: o.cards }, (_, i) => ({
    id: `card-${i + 1}`,
    balance: '90000.00',
    pin: SOAK_PIN,
    limits: { noPin: '100.00', perTransaction: '2000.00', offlineAmount: '9000000.00', offlineCount: 65535 },
    t0: false,
  }));
  const readers = o.readers.map((medium, i) => ({
    id: `${medium}-${i + 1}`,
    medium,
    card: cards[i]!.id,
  }));
  return {
    cards,
    readers,
    bank: {},
    daemon: {},
    printer: false,
    display: false,
  };
}
