import {
  MapReader,
  asText,
  buildMap,
  decodeCanonical,
  encodeCanonical,
  type CborKey,
  type CborValue,
} from '../cbor/index.js';
import { DecodeError } from '../errors.js';
import { PIN_OUTCOMES, PIN_TRIES_MAX, pinEntryEntries, readPinEntry, type PinEntryFields } from './pin-entry.js';

/**
 * The serial terminal message set (docs/protocol.md §13.4): one canonical CBOR map per message,
 * integer keys. Key 1 is the message type, key 2 the requestId (a request's own id; in a response,
 * the id of the request it answers). Every decoder path validates with MapReader and rejects unknown
 * fields, so a message is either exactly one of the shapes below or a DecodeError.
 */

export const TERMINAL_PROTOCOL_VERSION = 1;

export const MSG = Object.freeze({
  HELLO: 1,
  INFO: 2,
  SALE_REQUEST: 3,
  SALE_STATUS: 4,
  SALE_RESULT: 5,
  DISPLAY: 6,
  BEEP: 7,
  CARD_EVENT: 8,
  APDU: 9,
  APDU_RESPONSE: 10,
  PIN_ENTRY: 11,
  PIN_RESULT: 12,
  PRINT: 13,
  CANCEL: 14,
  HEARTBEAT: 15,
  OK: 16,
  ERROR: 17,
} as const);
export type MessageType = keyof typeof MSG;

/** requestIds are unsigned integers 1 … 2^53−1, unique per sender across its restarts (§13.5). */
export const MAX_REQUEST_ID = Number.MAX_SAFE_INTEGER;
/** Field limits (UTF-8 bytes / elements). */
export const LIMITS = Object.freeze({ text: 64, displayLines: 8, printLines: 64, apdu: 8192, model: 32 });

/** `unconfirmed`: the card's answer to the payment was lost, so it may have paid (never charge again blindly). */
export const SALE_OUTCOMES = ['approved', 'declined', 'cancelled', 'failed', 'unconfirmed'] as const;
export const SALE_STATUSES = ['insert-card', 'enter-pin', 'processing', 'remove-card'] as const;
export const BEEP_TONES = ['ok', 'error', 'attention'] as const;
export const CARD_EVENTS = ['inserted', 'removed'] as const;
export const PRINT_KINDS = ['receipt', 'report'] as const;

/** Codes a peer puts in an ERROR response (§13.6). Stable; meanings for the spec and logs. */
export const TERMINAL_ERROR_CODES = Object.freeze({
  BAD_MESSAGE: 'the request is not a valid message of §13.4 (its type and requestId were readable)',
  UNSUPPORTED: 'this peer does not handle this request type (wrong direction, or a capability it lacks)',
  BUSY: 'the request conflicts with one in progress (a second PIN entry or sale at once)',
  NO_CARD: 'APDU or PIN entry with no card in the slot',
  CARD_REMOVED: 'the card left the slot during the APDU or PIN entry',
  CARD_MUTE: 'the card in the slot did not answer (power loss, bad contact)',
  PRINTER_FAULT: 'the printer is missing, out of paper or failed',
  UNKNOWN_SALE: 'SALE_STATUS or CANCEL for a sale the peer does not know (finished or never started)',
  INTERNAL: 'the peer failed while handling the request',
} as const satisfies Record<string, string>);
export type TerminalErrorCode = keyof typeof TERMINAL_ERROR_CODES;
const ERROR_CODE_NAMES = Object.keys(TERMINAL_ERROR_CODES) as TerminalErrorCode[];

export interface TerminalCapabilities {
  display: { lines: number; columns: number };
  pinPad: boolean;
  cardSlot: boolean;
  printer: boolean;
  /** The slot carries extended-length APDUs (else the host chains). */
  extendedLength: boolean;
}

export type SaleOutcome = (typeof SALE_OUTCOMES)[number];
export type SaleStatus = (typeof SALE_STATUSES)[number];
export type { PinOutcomeName, PinEntryMode, PinEntryFields } from './pin-entry.js';

export type TerminalMessage =
  | { type: 'HELLO'; requestId: number; protocolVersion: number; host?: string }
  | {
      type: 'INFO';
      requestId: number;
      protocolVersion: number;
      model: string;
      serial: string;
      firmware: string;
      capabilities: TerminalCapabilities;
      cardPresent: boolean;
      atr?: Uint8Array;
    }
  | { type: 'SALE_REQUEST'; requestId: number; amount: number; currency: number; reference?: string }
  | { type: 'SALE_STATUS'; requestId: number; saleRequestId: number; status: SaleStatus }
  | {
      type: 'SALE_RESULT';
      requestId: number;
      outcome: SaleOutcome;
      message?: string;
      receiptId?: string;
      receipt?: string[];
    }
  | { type: 'DISPLAY'; requestId: number; lines: string[] }
  | { type: 'BEEP'; requestId: number; tone: (typeof BEEP_TONES)[number]; count: number }
  | { type: 'CARD_EVENT'; requestId: number; event: (typeof CARD_EVENTS)[number]; atr?: Uint8Array }
  | { type: 'APDU'; requestId: number; apdu: Uint8Array }
  | { type: 'APDU_RESPONSE'; requestId: number; response: Uint8Array }
  | ({ type: 'PIN_ENTRY'; requestId: number } & PinEntryFields)
  | { type: 'PIN_RESULT'; requestId: number; outcome: (typeof PIN_OUTCOMES)[number]; triesLeft?: number }
  | { type: 'PRINT'; requestId: number; kind: (typeof PRINT_KINDS)[number]; lines: string[] }
  | { type: 'CANCEL'; requestId: number; target: number }
  | { type: 'HEARTBEAT'; requestId: number }
  | { type: 'OK'; requestId: number }
  | { type: 'ERROR'; requestId: number; code: TerminalErrorCode; message: string };

export type MessageOf<T extends MessageType> = Extract<TerminalMessage, { type: T }>;

/** What answers each request type (besides ERROR, which may answer any). */
export const RESPONSE_FOR = Object.freeze({
  HELLO: 'INFO',
  SALE_REQUEST: 'SALE_RESULT',
  APDU: 'APDU_RESPONSE',
  PIN_ENTRY: 'PIN_RESULT',
  SALE_STATUS: 'OK',
  DISPLAY: 'OK',
  BEEP: 'OK',
  CARD_EVENT: 'OK',
  PRINT: 'OK',
  CANCEL: 'OK',
  HEARTBEAT: 'OK',
} as const satisfies Record<string, MessageType>);
export type RequestType = keyof typeof RESPONSE_FOR;
export type RequestMessage = MessageOf<RequestType>;
export type ResponseMessage = MessageOf<'INFO' | 'SALE_RESULT' | 'APDU_RESPONSE' | 'PIN_RESULT' | 'OK' | 'ERROR'>;

const RESPONSE_TYPES: ReadonlySet<MessageType> = new Set([
  'INFO',
  'SALE_RESULT',
  'APDU_RESPONSE',
  'PIN_RESULT',
  'OK',
  'ERROR',
]);
export function isResponse(m: TerminalMessage): m is ResponseMessage {
  return RESPONSE_TYPES.has(m.type);
}
export function isRequest(m: TerminalMessage): m is RequestMessage {
  return !RESPONSE_TYPES.has(m.type);
}
/** Whether `response` is an allowed answer to a request of type `request`. */
export function answers(request: RequestType, response: ResponseMessage): boolean {
  return response.type === 'ERROR' || response.type === RESPONSE_FOR[request];
}

const TYPE_NAMES = new Map<number, MessageType>(Object.entries(MSG).map(([k, v]) => [v, k as MessageType]));

const NAMES: Readonly<Record<string, string>> = {
  1: 'type',
  2: 'requestId',
};
const FIELD_NAMES: { [T in MessageType]: Readonly<Record<number, string>> } = {
  HELLO: { 3: 'protocolVersion', 4: 'host' },
  INFO: {
    3: 'protocolVersion',
    4: 'model',
    5: 'serial',
    6: 'firmware',
    7: 'display',
    8: 'pinPad',
    9: 'cardSlot',
    10: 'printer',
    11: 'extendedLength',
    12: 'cardPresent',
    13: 'atr',
  },
  SALE_REQUEST: { 3: 'amount', 4: 'currency', 5: 'reference' },
  SALE_STATUS: { 3: 'saleRequestId', 4: 'status' },
  SALE_RESULT: { 3: 'outcome', 4: 'message', 5: 'receiptId', 6: 'receipt' },
  DISPLAY: { 3: 'lines' },
  BEEP: { 3: 'tone', 4: 'count' },
  CARD_EVENT: { 3: 'event', 4: 'atr' },
  APDU: { 3: 'apdu' },
  APDU_RESPONSE: { 3: 'response' },
  PIN_ENTRY: { 3: 'amount', 4: 'currency', 5: 'triesLeft', 6: 'timeoutMs', 7: 'mode' },
  PIN_RESULT: { 3: 'outcome', 4: 'triesLeft' },
  PRINT: { 3: 'kind', 4: 'lines' },
  CANCEL: { 3: 'target' },
  HEARTBEAT: {},
  OK: {},
  ERROR: { 3: 'code', 4: 'message' },
};

/** The field table of each message type, for the spec (§13.4) and its docs test. */
export function messageFields(type: MessageType): Readonly<Record<number, string>> {
  return FIELD_NAMES[type];
}

const line = (v: CborValue, what: string): string => asText(v, what, { maxLength: LIMITS.text });
const AMOUNT = { min: 1, max: 99_999_999_999 };
const CURRENCY = { min: 1, max: 999 };
const REQUEST_ID = { min: 1, max: MAX_REQUEST_ID };

/** Encode a message as canonical CBOR. Throws EncodeError for values CBOR cannot carry (callers build valid messages). */
export function encodeMessage(m: TerminalMessage): Uint8Array {
  const e: [CborKey, CborValue][] = [
    [1, MSG[m.type]],
    [2, m.requestId],
  ];
  switch (m.type) {
    case 'HELLO':
      e.push([3, m.protocolVersion], [4, m.host]);
      break;
    case 'INFO':
      e.push(
        [3, m.protocolVersion],
        [4, m.model],
        [5, m.serial],
        [6, m.firmware],
        [
          7,
          buildMap([
            [1, m.capabilities.display.lines],
            [2, m.capabilities.display.columns],
          ]),
        ],
        [8, m.capabilities.pinPad],
        [9, m.capabilities.cardSlot],
        [10, m.capabilities.printer],
        [11, m.capabilities.extendedLength],
        [12, m.cardPresent],
        [13, m.atr],
      );
      break;
    case 'SALE_REQUEST':
      e.push([3, m.amount], [4, m.currency], [5, m.reference]);
      break;
    case 'SALE_STATUS':
      e.push([3, m.saleRequestId], [4, m.status]);
      break;
    case 'SALE_RESULT':
      e.push([3, m.outcome], [4, m.message], [5, m.receiptId], [6, m.receipt]);
      break;
    case 'DISPLAY':
      e.push([3, m.lines]);
      break;
    case 'BEEP':
      e.push([3, m.tone], [4, m.count]);
      break;
    case 'CARD_EVENT':
      e.push([3, m.event], [4, m.atr]);
      break;
    case 'APDU':
      e.push([3, m.apdu]);
      break;
    case 'APDU_RESPONSE':
      e.push([3, m.response]);
      break;
    case 'PIN_ENTRY':
      e.push(...pinEntryEntries(m));
      break;
    case 'PIN_RESULT':
      e.push([3, m.outcome], [4, m.triesLeft]);
      break;
    case 'PRINT':
      e.push([3, m.kind], [4, m.lines]);
      break;
    case 'CANCEL':
      e.push([3, m.target]);
      break;
    case 'HEARTBEAT':
    case 'OK':
      break;
    case 'ERROR':
      e.push([3, m.code], [4, m.message]);
      break;
  }
  return encodeCanonical(buildMap(e));
}

/** Decode and validate one message. Throws DecodeError (CBOR_* codes, or CBOR_SCHEMA naming the field). */
export function decodeMessage(bytes: Uint8Array): TerminalMessage {
  const value = decodeCanonical(bytes, { maxDepth: 4, maxBytes: LIMITS.apdu + 1024, maxItems: 256 });
  const head = new MapReader(value, 'terminal message', { names: NAMES });
  const code = head.uint(1, { min: 1, max: 255 });
  const type = TYPE_NAMES.get(code);
  if (!type)
    throw new DecodeError(
      'CBOR_SCHEMA',
      `terminal message: unknown type ${code}`,
      'the peer speaks a newer terminal protocol; update the host',
    );
  const r = new MapReader(value, `${type} message`, { names: { ...NAMES, ...FIELD_NAMES[type] } });
  r.uint(1);
  const requestId = r.uint(2, REQUEST_ID);
  let m: TerminalMessage;
  switch (type) {
    case 'HELLO':
      m = {
        type,
        requestId,
        protocolVersion: r.uint(3, { min: 1, max: 255 }),
        ...opt('host', r.opt.text(4, { maxLength: LIMITS.text })),
      };
      break;
    case 'INFO': {
      const d = r.map(7, { names: { 1: 'lines', 2: 'columns' } });
      const display = { lines: d.uint(1, { max: 64 }), columns: d.uint(2, { max: 256 }) };
      d.done();
      m = {
        type,
        requestId,
        protocolVersion: r.uint(3, { min: 1, max: 255 }),
        model: r.text(4, { maxLength: LIMITS.model }),
        serial: r.text(5, { maxLength: LIMITS.model }),
        firmware: r.text(6, { maxLength: LIMITS.model }),
        capabilities: {
          display,
          pinPad: r.bool(8),
          cardSlot: r.bool(9),
          printer: r.bool(10),
          extendedLength: r.bool(11),
        },
        cardPresent: r.bool(12),
        ...opt('atr', r.opt.bytes(13, { maxLength: 33 })),
      };
      break;
    }
    case 'SALE_REQUEST':
      m = {
        type,
        requestId,
        amount: r.uint(3, AMOUNT),
        currency: r.uint(4, CURRENCY),
        ...opt('reference', r.opt.text(5, { maxLength: LIMITS.text })),
      };
      break;
    case 'SALE_STATUS':
      m = { type, requestId, saleRequestId: r.uint(3, REQUEST_ID), status: r.oneOf(4, SALE_STATUSES) };
      break;
    case 'SALE_RESULT':
      m = {
        type,
        requestId,
        outcome: r.oneOf(3, SALE_OUTCOMES),
        ...opt('message', r.opt.text(4, { maxLength: LIMITS.text })),
        ...opt('receiptId', r.opt.text(5, { maxLength: LIMITS.text })),
        ...opt('receipt', r.opt.arrayOf(6, line, { maxLength: LIMITS.printLines })),
      };
      break;
    case 'DISPLAY':
      m = { type, requestId, lines: r.arrayOf(3, line, { maxLength: LIMITS.displayLines }) };
      break;
    case 'BEEP':
      m = { type, requestId, tone: r.oneOf(3, BEEP_TONES), count: r.uint(4, { min: 1, max: 5 }) };
      break;
    case 'CARD_EVENT':
      m = { type, requestId, event: r.oneOf(3, CARD_EVENTS), ...opt('atr', r.opt.bytes(4, { maxLength: 33 })) };
      break;
    case 'APDU':
      m = { type, requestId, apdu: r.bytes(3, { minLength: 1, maxLength: LIMITS.apdu }) };
      break;
    case 'APDU_RESPONSE':
      m = { type, requestId, response: r.bytes(3, { minLength: 2, maxLength: LIMITS.apdu }) };
      break;
    case 'PIN_ENTRY':
      m = { type, requestId, ...readPinEntry(r, { amount: AMOUNT, currency: CURRENCY }) };
      break;
    case 'PIN_RESULT': {
      const outcome = r.oneOf(3, PIN_OUTCOMES);
      const triesLeft = outcome === 'wrong' ? r.uint(4, { max: PIN_TRIES_MAX }) : undefined;
      m = { type, requestId, outcome, ...opt('triesLeft', triesLeft) };
      break;
    }
    case 'PRINT':
      m = {
        type,
        requestId,
        kind: r.oneOf(3, PRINT_KINDS),
        lines: r.arrayOf(4, line, { minLength: 1, maxLength: LIMITS.printLines }),
      };
      break;
    case 'CANCEL':
      m = { type, requestId, target: r.uint(3, REQUEST_ID) };
      break;
    case 'HEARTBEAT':
    case 'OK':
      m = { type, requestId };
      break;
    case 'ERROR':
      m = { type, requestId, code: r.oneOf(3, ERROR_CODE_NAMES), message: r.text(4, { maxLength: 256 }) };
      break;
  }
  r.done();
  return m;
}

/**
 * For answering a malformed request with ERROR BAD_MESSAGE: its requestId when the bytes are a
 * canonical map whose keys 1 (a request type) and 2 are readable, else undefined. Never throws.
 */
export function peekRequest(bytes: Uint8Array): { type: number; requestId: number } | undefined {
  try {
    const v = decodeCanonical(bytes, { maxDepth: 4, maxBytes: LIMITS.apdu + 1024, maxItems: 256 });
    if (!(v instanceof Map)) return undefined;
    const type = v.get(1);
    const requestId = v.get(2);
    if (typeof type !== 'number' || typeof requestId !== 'number' || !Number.isSafeInteger(requestId) || requestId < 1)
      return undefined;
    const name = TYPE_NAMES.get(type);
    if (name && RESPONSE_TYPES.has(name)) return undefined; // never answer a response
    return { type, requestId };
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/** `{ key: v }` when v is defined, `{}` otherwise (exactOptionalPropertyTypes-friendly optional fields). */
function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}
