import { DecodeError } from '../errors.js';
import {
  MapReader,
  asBytes,
  buildMap,
  decodeCanonical,
  encodeCanonical,
  type CborMap,
  type CborValue,
} from '../cbor/index.js';
import {
  CARD_ID_LENGTH,
  CHALLENGE_LENGTH,
  HASH_LENGTH,
  HOST_NONCE_LENGTH,
  MIN_MAX_MESSAGE_SIZE,
} from './application.js';
import { PIN_MAX, PIN_MIN, PUK_MAX, PUK_MIN } from './pin.js';

/**
 * Typed request and response messages of the CBOR command set (docs/protocol.md §4), with one
 * encoder and one validating reader per message, used by host and card alike. A reader throws
 * DecodeError (CBOR_SCHEMA) for a missing, unknown, mistyped or out-of-range field.
 */

export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;
export const MAX_COUNTER = 0xffff_ffff;
const ID_TEXT = { minLength: 1, maxLength: 32 } as const;
const CURRENCY = { min: 1, max: 999 } as const;

/** docs/protocol.md §6.1; BLOCKED: blocked by the issuer with a signed block order (BLOCK_CARD, §4.8). */
export const LIFECYCLE = { BLANK: 0, PERSONALISED: 1, ACTIVE: 2, PIN_BLOCKED: 3, TERMINATED: 4, BLOCKED: 5 } as const;
export type Lifecycle = (typeof LIFECYCLE)[keyof typeof LIFECYCLE];
const LIFECYCLES = Object.values(LIFECYCLE);

// ---------------------------------------------------------------- framing of the CBOR INS data

/** `command byte || canonical CBOR map` (the map left out when there are no parameters). */
export function encodeCommandData(command: number, params?: CborMap): Uint8Array {
  const body = params ? encodeCanonical(params) : new Uint8Array(0);
  const out = new Uint8Array(1 + body.length);
  out[0] = command;
  out.set(body, 1);
  return out;
}

export interface CommandData {
  command: number;
  params: CborMap | undefined;
}

/** The card's parse of the CBOR INS data field; DecodeError for empty, non-canonical or non-map input. */
export function decodeCommandData(data: Uint8Array): CommandData {
  if (data.length === 0)
    throw new DecodeError('COMMAND_EMPTY', 'CBOR command with no command byte', 'send command byte || CBOR map');
  const command = data[0]!;
  if (data.length === 1) return { command, params: undefined };
  const params = decodeCanonical(data.subarray(1));
  if (!(params instanceof Map)) {
    throw new DecodeError(
      'CBOR_SCHEMA',
      `command 0x${command.toString(16)}: parameters must be a CBOR map`,
      'send command byte || CBOR map',
    );
  }
  return { command, params };
}

export function encodeResponseData(status: number, result?: CborMap): Uint8Array {
  return encodeCommandData(status, result);
}

export interface CardResponse {
  status: number;
  result: CborMap | undefined;
}

/** The host's parse of a CBOR response: status byte and optional canonical map. */
export function decodeResponseData(data: Uint8Array): CardResponse {
  if (data.length === 0)
    throw new DecodeError(
      'RESPONSE_EMPTY',
      'card answered the CBOR command with no status byte',
      'the card does not follow the protocol; try another card or reader',
    );
  const { command: status, params: result } = decodeCommandData(data);
  return { status, result };
}

/** Parameters of a command that takes none must be absent or an empty map. */
export function readNoParams(params: CborMap | undefined, what: string): void {
  if (params) new MapReader(params, what).done();
}

// ---------------------------------------------------------------- shared pieces

export interface Limits {
  perTransaction: number;
  noPin: number;
  offlineAmount: number;
  offlineCount: number;
  maxBalance: number;
}

export function encodeLimits(l: Limits): CborMap {
  return buildMap([
    [1, l.perTransaction],
    [2, l.noPin],
    [3, l.offlineAmount],
    [4, l.offlineCount],
    [5, l.maxBalance],
  ]);
}

export function readLimits(r: MapReader): Limits {
  const limits = {
    perTransaction: r.uint(1, { max: MAX_AMOUNT }),
    noPin: r.uint(2, { max: MAX_AMOUNT }),
    offlineAmount: r.uint(3, { max: MAX_AMOUNT }),
    offlineCount: r.uint(4, { max: MAX_COUNTER }),
    maxBalance: r.uint(5, { max: MAX_AMOUNT }),
  };
  r.done();
  return limits;
}

const LIMIT_NAMES = {
  names: { 1: 'perTransaction', 2: 'noPin', 3: 'offlineAmount', 4: 'offlineCount', 5: 'maxBalance' },
};

const pinOpts = { minLength: PIN_MIN, maxLength: PIN_MAX } as const;
const pukOpts = { minLength: PUK_MIN, maxLength: PUK_MAX } as const;

// ---------------------------------------------------------------- SELECT

export interface SelectInfo {
  protocolVersion: number;
  maxMessageSize: number;
  extendedLength: boolean;
  lifecycle: Lifecycle;
}

export function encodeSelectInfo(s: SelectInfo): Uint8Array {
  return encodeCanonical(
    buildMap([
      [1, s.protocolVersion],
      [2, s.maxMessageSize],
      [3, s.extendedLength],
      [4, s.lifecycle],
    ]),
  );
}

export function readSelectInfo(data: Uint8Array): SelectInfo {
  const r = new MapReader(decodeCanonical(data), 'SELECT response', {
    names: { 1: 'protocolVersion', 2: 'maxMessageSize', 3: 'extendedLength', 4: 'lifecycle' },
  });
  const info = {
    protocolVersion: r.uint(1),
    maxMessageSize: r.uint(2, { min: MIN_MAX_MESSAGE_SIZE, max: 65535 }),
    extendedLength: r.bool(3),
    lifecycle: r.oneOf(4, LIFECYCLES),
  };
  r.done();
  return info;
}

// ---------------------------------------------------------------- GET_INFO

export interface CardInfo {
  protocolVersion: number;
  lifecycle: Lifecycle;
  cardId?: Uint8Array;
  algorithm: number;
  publicKey?: Uint8Array;
  certificate?: Uint8Array;
  counter: number;
  balance: number;
  currency?: number;
  limits?: Limits;
  offlineAmount: number;
  offlineCount: number;
  pinRetries: number;
  pukRetries: number;
  lastRecordHash: Uint8Array;
  loadCounter: number;
  maxMessageSize: number;
  journalCapacity: number;
  pinVerified: boolean;
}

export function encodeCardInfo(i: CardInfo): CborMap {
  return buildMap([
    [1, i.protocolVersion],
    [2, i.lifecycle],
    [3, i.cardId],
    [4, i.algorithm],
    [5, i.publicKey],
    [6, i.certificate],
    [7, i.counter],
    [8, i.balance],
    [9, i.currency],
    [10, i.limits ? encodeLimits(i.limits) : undefined],
    [11, i.offlineAmount],
    [12, i.offlineCount],
    [13, i.pinRetries],
    [14, i.pukRetries],
    [15, i.lastRecordHash],
    [16, i.loadCounter],
    [17, i.maxMessageSize],
    [18, i.journalCapacity],
    [19, i.pinVerified],
  ]);
}

export function readCardInfo(v: CborValue): CardInfo {
  const r = new MapReader(v, 'GET_INFO response', {
    names: {
      1: 'protocolVersion',
      2: 'lifecycle',
      3: 'cardId',
      4: 'algorithm',
      5: 'publicKey',
      6: 'certificate',
      7: 'counter',
      8: 'balance',
      9: 'currency',
      10: 'limits',
      11: 'offlineAmount',
      12: 'offlineCount',
      13: 'pinRetries',
      14: 'pukRetries',
      15: 'lastRecordHash',
      16: 'loadCounter',
      17: 'maxMessageSize',
      18: 'journalCapacity',
      19: 'pinVerified',
    },
  });
  const limits = r.opt.map(10, LIMIT_NAMES);
  const info: CardInfo = {
    protocolVersion: r.uint(1),
    lifecycle: r.oneOf(2, LIFECYCLES),
    algorithm: r.uint(4, { min: 1, max: 255 }),
    counter: r.uint(7, { max: MAX_COUNTER }),
    balance: r.uint(8, { max: MAX_AMOUNT }),
    offlineAmount: r.uint(11, { max: MAX_AMOUNT }),
    offlineCount: r.uint(12, { max: MAX_COUNTER }),
    pinRetries: r.uint(13, { max: 15 }),
    pukRetries: r.uint(14, { max: 15 }),
    lastRecordHash: r.bytes(15, { length: HASH_LENGTH }),
    loadCounter: r.uint(16, { max: MAX_COUNTER }),
    maxMessageSize: r.uint(17, { min: MIN_MAX_MESSAGE_SIZE, max: 65535 }),
    journalCapacity: r.uint(18, { max: 65535 }),
    pinVerified: r.bool(19),
  };
  const cardId = r.opt.bytes(3, { length: CARD_ID_LENGTH });
  const publicKey = r.opt.bytes(5, { length: 65 });
  const certificate = r.opt.bytes(6, { maxLength: 4096 });
  const currency = r.opt.uint(9, CURRENCY);
  if (cardId) info.cardId = cardId;
  if (publicKey) info.publicKey = publicKey;
  if (certificate) info.certificate = certificate;
  if (currency !== undefined) info.currency = currency;
  if (limits) info.limits = readLimits(limits);
  r.done();
  if (
    info.lifecycle !== LIFECYCLE.BLANK &&
    (!info.cardId || !info.publicKey || !info.certificate || info.currency === undefined || !info.limits)
  ) {
    throw new DecodeError(
      'CBOR_SCHEMA',
      'GET_INFO response: a personalised card must report cardId, publicKey, certificate, currency and limits',
      'the card does not follow the protocol',
    );
  }
  return info;
}

// ---------------------------------------------------------------- VERIFY_PIN, CHANGE_PIN, UNBLOCK_PIN

export const encodeVerifyPinRequest = (pin: Uint8Array): CborMap => buildMap([[1, pin]]);
export function readVerifyPinRequest(v: CborValue): { pin: Uint8Array } {
  const r = new MapReader(v, 'VERIFY_PIN request', { names: { 1: 'pin' } });
  const pin = r.bytes(1, pinOpts);
  r.done();
  return { pin };
}

export const encodeChangePinRequest = (oldPin: Uint8Array, newPin: Uint8Array): CborMap =>
  buildMap([
    [1, oldPin],
    [2, newPin],
  ]);
export function readChangePinRequest(v: CborValue): { oldPin: Uint8Array; newPin: Uint8Array } {
  const r = new MapReader(v, 'CHANGE_PIN request', { names: { 1: 'oldPin', 2: 'newPin' } });
  const out = { oldPin: r.bytes(1, pinOpts), newPin: r.bytes(2, pinOpts) };
  r.done();
  return out;
}

export const encodeUnblockPinRequest = (puk: Uint8Array, newPin: Uint8Array): CborMap =>
  buildMap([
    [1, puk],
    [2, newPin],
  ]);
export function readUnblockPinRequest(v: CborValue): { puk: Uint8Array; newPin: Uint8Array } {
  const r = new MapReader(v, 'UNBLOCK_PIN request', { names: { 1: 'puk', 2: 'newPin' } });
  const out = { puk: r.bytes(1, pukOpts), newPin: r.bytes(2, pinOpts) };
  r.done();
  return out;
}

/** `{1: retries}`: the answer to the PIN commands, and the detail of PIN_INVALID / PUK_INVALID refusals. */
export const encodeRetries = (retries: number): CborMap => buildMap([[1, retries]]);
export function readRetries(v: CborValue, what: string): number {
  const r = new MapReader(v, what, { names: { 1: 'retries' } });
  const n = r.uint(1, { max: 15 });
  r.done();
  return n;
}

// ---------------------------------------------------------------- SIGN_TXN

export interface SignTxnRequest {
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  time: number;
  hostNonce: Uint8Array;
}

export function encodeSignTxnRequest(q: SignTxnRequest): CborMap {
  return buildMap([
    [1, q.amount],
    [2, q.currency],
    [3, q.merchantId],
    [4, q.terminalId],
    [5, q.time],
    [6, q.hostNonce],
  ]);
}

export function readSignTxnRequest(v: CborValue): SignTxnRequest {
  const r = new MapReader(v, 'SIGN_TXN request', {
    names: { 1: 'amount', 2: 'currency', 3: 'merchantId', 4: 'terminalId', 5: 'time', 6: 'hostNonce' },
  });
  const q = {
    amount: r.uint(1, { min: 1, max: MAX_AMOUNT }),
    currency: r.uint(2, CURRENCY),
    merchantId: r.text(3, ID_TEXT),
    terminalId: r.text(4, ID_TEXT),
    time: r.uint(5, { max: MAX_AMOUNT }),
    hostNonce: r.bytes(6, { length: HOST_NONCE_LENGTH }),
  };
  r.done();
  return q;
}

/** `{1: envelope bstr}`: SIGN_TXN's answer. */
export const encodeRecordResponse = (envelope: Uint8Array): CborMap => buildMap([[1, envelope]]);
export function readRecordResponse(v: CborValue): Uint8Array {
  const r = new MapReader(v, 'SIGN_TXN response', { names: { 1: 'record' } });
  const env = r.bytes(1, { maxLength: 4096 });
  r.done();
  return env;
}

// ---------------------------------------------------------------- READ_JOURNAL

export interface ReadJournalRequest {
  fromCounter: number;
  maxRecords?: number;
}
export function encodeReadJournalRequest(q: ReadJournalRequest): CborMap {
  return buildMap([
    [1, q.fromCounter],
    [2, q.maxRecords],
  ]);
}
export function readReadJournalRequest(v: CborValue): ReadJournalRequest {
  const r = new MapReader(v, 'READ_JOURNAL request', { names: { 1: 'fromCounter', 2: 'maxRecords' } });
  const q: ReadJournalRequest = { fromCounter: r.uint(1, { max: MAX_COUNTER }) };
  const max = r.opt.uint(2, { min: 1, max: 65535 });
  if (max !== undefined) q.maxRecords = max;
  r.done();
  return q;
}

export interface JournalPage {
  records: Uint8Array[];
  oldestCounter: number;
  lastCounter: number;
}
export function encodeJournalPage(p: JournalPage): CborMap {
  return buildMap([
    [1, p.records],
    [2, p.oldestCounter],
    [3, p.lastCounter],
  ]);
}
export function readJournalPage(v: CborValue): JournalPage {
  const r = new MapReader(v, 'READ_JOURNAL response', {
    names: { 1: 'records', 2: 'oldestCounter', 3: 'lastCounter' },
  });
  const page = {
    records: r.arrayOf(1, (x, what) => asBytes(x, what, { maxLength: 4096 }), { maxLength: 65535 }),
    oldestCounter: r.uint(2, { max: MAX_COUNTER }),
    lastCounter: r.uint(3, { max: MAX_COUNTER }),
  };
  r.done();
  return page;
}

// ---------------------------------------------------------------- LOAD

export interface LoadRequest {
  token: Uint8Array;
  authority: Uint8Array;
}
export const encodeLoadRequest = (q: LoadRequest): CborMap =>
  buildMap([
    [1, q.token],
    [2, q.authority],
  ]);
export function readLoadRequest(v: CborValue): LoadRequest {
  const r = new MapReader(v, 'LOAD request', { names: { 1: 'token', 2: 'authority' } });
  const q = { token: r.bytes(1, { maxLength: 1024 }), authority: r.bytes(2, { maxLength: 2048 }) };
  r.done();
  return q;
}
export interface LoadResult {
  balance: number;
  loadCounter: number;
}
export const encodeLoadResult = (x: LoadResult): CborMap =>
  buildMap([
    [1, x.balance],
    [2, x.loadCounter],
  ]);
export function readLoadResult(v: CborValue): LoadResult {
  const r = new MapReader(v, 'LOAD response', { names: { 1: 'balance', 2: 'loadCounter' } });
  const x = { balance: r.uint(1, { max: MAX_AMOUNT }), loadCounter: r.uint(2, { max: MAX_COUNTER }) };
  r.done();
  return x;
}

// ---------------------------------------------------------------- PERSONALIZE

export interface PersonalizeBeginRequest {
  cardId: Uint8Array;
  algorithm: number;
  issuer: Uint8Array;
}
export const encodePersonalizeBeginRequest = (q: PersonalizeBeginRequest): CborMap =>
  buildMap([
    [1, q.cardId],
    [2, q.algorithm],
    [3, q.issuer],
  ]);
export function readPersonalizeBeginRequest(v: CborValue): PersonalizeBeginRequest {
  const r = new MapReader(v, 'PERSONALIZE_BEGIN request', { names: { 1: 'cardId', 2: 'algorithm', 3: 'issuer' } });
  const q = {
    cardId: r.bytes(1, { length: CARD_ID_LENGTH }),
    algorithm: r.uint(2, { min: 1, max: 255 }),
    issuer: r.bytes(3, { maxLength: 2048 }),
  };
  r.done();
  return q;
}

export interface PersonalizeBeginResult {
  publicKey: Uint8Array;
  challenge: Uint8Array;
}
export const encodePersonalizeBeginResult = (x: PersonalizeBeginResult): CborMap =>
  buildMap([
    [1, x.publicKey],
    [2, x.challenge],
  ]);
export function readPersonalizeBeginResult(v: CborValue): PersonalizeBeginResult {
  const r = new MapReader(v, 'PERSONALIZE_BEGIN response', { names: { 1: 'publicKey', 2: 'challenge' } });
  const x = { publicKey: r.bytes(1, { length: 65 }), challenge: r.bytes(2, { length: CHALLENGE_LENGTH }) };
  r.done();
  return x;
}

export interface PersonalizeCommitRequest {
  certificate: Uint8Array;
  pin: Uint8Array;
  puk: Uint8Array;
  authorisation: Uint8Array;
}
export const encodePersonalizeCommitRequest = (q: PersonalizeCommitRequest): CborMap =>
  buildMap([
    [1, q.certificate],
    [2, q.pin],
    [3, q.puk],
    [4, q.authorisation],
  ]);
export function readPersonalizeCommitRequest(v: CborValue): PersonalizeCommitRequest {
  const r = new MapReader(v, 'PERSONALIZE_COMMIT request', {
    names: { 1: 'certificate', 2: 'pin', 3: 'puk', 4: 'authorisation' },
  });
  const q = {
    certificate: r.bytes(1, { maxLength: 2048 }),
    pin: r.bytes(2, pinOpts),
    puk: r.bytes(3, pukOpts),
    authorisation: r.bytes(4, { length: 64 }),
  };
  r.done();
  return q;
}

/** The bytes the issuer signs to authorise PERSONALIZE_COMMIT (§4.6). */
export function personalizationAuthorisationMessage(
  challenge: Uint8Array,
  q: Omit<PersonalizeCommitRequest, 'authorisation'>,
): Uint8Array {
  return encodeCanonical(
    buildMap([
      [1, challenge],
      [2, q.certificate],
      [3, q.pin],
      [4, q.puk],
    ]),
  );
}
