import { MapReader, buildMap, decodeCanonical, encodeCanonical } from '../../protocol/cbor/index.js';
import { encodeLimits, readLimits, LIFECYCLE, type Lifecycle, type Limits } from '../../protocol/commands/index.js';
import { ZERO_HASH } from '../../protocol/record/index.js';
import { PowerLoss, type NvmTransaction } from './nvm.js';

/**
 * How the card applet lays out its state in NVM: one key per value that changes on its own, so
 * a sale touches several keys and the tearing tests have several write points to cut between.
 * Values are canonical CBOR.
 */

export const PIN_TRIES = 3;
export const PUK_TRIES = 10;

/** Fixed at personalisation. */
export interface Identity {
  cardId: Uint8Array;
  algorithm: number;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  issuer: Uint8Array; // issuer CA certificate envelope
  certificate: Uint8Array; // card certificate envelope
  currency: number;
  limits: Limits;
}

/** Between PERSONALIZE_BEGIN and COMMIT. */
export interface PendingPersonalisation {
  cardId: Uint8Array;
  algorithm: number;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  issuer: Uint8Array;
  challenge: Uint8Array;
}

export interface Purse {
  counter: number;
  balance: number;
  offlineAmount: number;
  offlineCount: number;
  loadCounter: number;
  lastHash: Uint8Array;
}

export interface Secrets {
  pin: Uint8Array;
  puk: Uint8Array;
}

type Getter = { get(key: string): Uint8Array | undefined };

const dec = (g: Getter, key: string) => {
  const raw = g.get(key);
  return raw === undefined ? undefined : new MapReader(decodeCanonical(raw), `card NVM ${key}`);
};

export const K = {
  lifecycle: 'lifecycle',
  identity: 'identity',
  perso: 'perso',
  secrets: 'secrets',
  anchor: 'issuerAnchor',
  pinRetries: 'pinRetries',
  pukRetries: 'pukRetries',
  counter: 'counter',
  balance: 'balance',
  offline: 'offline',
  loads: 'loads',
  lastHash: 'lastHash',
  /** The issuer's block order that blocked the card (BLOCK_CARD), kept as evidence. */
  blockOrder: 'blockOrder',
  /**
   * The counter of the last record while it is a sale the card may still void (VOID_TXN): written by
   * SIGN_TXN, cleared (0) by VOID_TXN and by every LOAD. Absent reads 0: nothing to void.
   */
  voidable: 'voidable',
  journal: (slot: number) => `journal/${slot}`,
} as const;

const uintValue = (n: number) => encodeCanonical(buildMap([[1, n]]));
const readUint = (g: Getter, key: string, dflt: number) => {
  const r = dec(g, key);
  return r ? r.uint(1) : dflt;
};

export function readLifecycle(g: Getter): Lifecycle {
  return readUint(g, K.lifecycle, LIFECYCLE.BLANK) as Lifecycle;
}
export function writeLifecycle(tx: NvmTransaction, l: Lifecycle): void {
  tx.set(K.lifecycle, uintValue(l));
}

/**
 * The life cycle GET_INFO and SELECT report (docs/protocol.md §6.1): a personalised card whose PUK
 * tries read 0 is terminated, one whose PIN tries read 0 is PIN-blocked, whatever is stored.
 */
export function effectiveLifecycle(g: Getter): Lifecycle {
  const l = readLifecycle(g);
  if (l !== LIFECYCLE.ACTIVE && l !== LIFECYCLE.PERSONALISED) return l;
  if (readPukRetries(g) === 0) return LIFECYCLE.TERMINATED;
  if (readPinRetries(g) === 0) return LIFECYCLE.PIN_BLOCKED;
  return l;
}

export function readIdentity(g: Getter): Identity | undefined {
  const r = dec(g, K.identity);
  if (!r) return undefined;
  return {
    cardId: r.bytes(1),
    algorithm: r.uint(2),
    privateKey: r.bytes(3),
    publicKey: r.bytes(4),
    issuer: r.bytes(5),
    certificate: r.bytes(6),
    currency: r.uint(7),
    limits: readLimits(r.map(8)),
  };
}
export function writeIdentity(tx: NvmTransaction, i: Identity): void {
  tx.set(
    K.identity,
    encodeCanonical(
      buildMap([
        [1, i.cardId],
        [2, i.algorithm],
        [3, i.privateKey],
        [4, i.publicKey],
        [5, i.issuer],
        [6, i.certificate],
        [7, i.currency],
        [8, encodeLimits(i.limits)],
      ]),
    ),
  );
}

export function readPending(g: Getter): PendingPersonalisation | undefined {
  const r = dec(g, K.perso);
  if (!r) return undefined;
  return {
    cardId: r.bytes(1),
    algorithm: r.uint(2),
    privateKey: r.bytes(3),
    publicKey: r.bytes(4),
    issuer: r.bytes(5),
    challenge: r.bytes(6),
  };
}
export function writePending(tx: NvmTransaction, p: PendingPersonalisation): void {
  tx.set(
    K.perso,
    encodeCanonical(
      buildMap([
        [1, p.cardId],
        [2, p.algorithm],
        [3, p.privateKey],
        [4, p.publicKey],
        [5, p.issuer],
        [6, p.challenge],
      ]),
    ),
  );
}

export function readSecrets(g: Getter): Secrets | undefined {
  const r = dec(g, K.secrets);
  return r ? { pin: r.bytes(1), puk: r.bytes(2) } : undefined;
}
export function writeSecrets(tx: NvmTransaction, s: Secrets): void {
  tx.set(
    K.secrets,
    encodeCanonical(
      buildMap([
        [1, s.pin],
        [2, s.puk],
      ]),
    ),
  );
}

/**
 * A try counter fails closed: a value that is missing, negative (an image torn by older firmware)
 * or does not decode reads as 0, so the card blocks or terminates rather than compares.
 */
function readTries(g: Getter, key: string): number {
  try {
    const raw = g.get(key);
    if (raw === undefined) return 0;
    const v = decodeCanonical(raw);
    const n = v instanceof Map ? v.get(1) : undefined;
    return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0;
  } catch (e) {
    if (e instanceof PowerLoss) throw e;
    return 0;
  }
}
/** Never below 0, whatever the caller computed. */
const triesValue = (n: number) => uintValue(Number.isInteger(n) && n > 0 ? n : 0);

export const readPinRetries = (g: Getter) => readTries(g, K.pinRetries);
export const readPukRetries = (g: Getter) => readTries(g, K.pukRetries);
export const writePinRetries = (tx: NvmTransaction, n: number) => tx.set(K.pinRetries, triesValue(n));
export const writePukRetries = (tx: NvmTransaction, n: number) => tx.set(K.pukRetries, triesValue(n));

export function readPurse(g: Getter): Purse {
  const off = dec(g, K.offline);
  const last = dec(g, K.lastHash);
  return {
    counter: readUint(g, K.counter, 0),
    balance: readUint(g, K.balance, 0),
    offlineAmount: off ? off.uint(1) : 0,
    offlineCount: off ? off.uint(2) : 0,
    loadCounter: readUint(g, K.loads, 0),
    lastHash: last ? last.bytes(1) : ZERO_HASH,
  };
}

/** Write only what changed, so each command has exactly the write points it needs. */
export function writePurse(tx: NvmTransaction, before: Purse, after: Purse): void {
  if (after.counter !== before.counter) tx.set(K.counter, uintValue(after.counter));
  if (after.balance !== before.balance) tx.set(K.balance, uintValue(after.balance));
  if (after.offlineAmount !== before.offlineAmount || after.offlineCount !== before.offlineCount) {
    tx.set(
      K.offline,
      encodeCanonical(
        buildMap([
          [1, after.offlineAmount],
          [2, after.offlineCount],
        ]),
      ),
    );
  }
  if (after.loadCounter !== before.loadCounter) tx.set(K.loads, uintValue(after.loadCounter));
  if (after.lastHash !== before.lastHash) tx.set(K.lastHash, encodeCanonical(buildMap([[1, after.lastHash]])));
}

/** The sale VOID_TXN may still void (its counter), or 0. */
export const readVoidable = (g: Getter): number => readUint(g, K.voidable, 0);
export function writeVoidable(tx: NvmTransaction, before: number, counter: number): void {
  if (before !== counter) tx.set(K.voidable, uintValue(counter));
}
