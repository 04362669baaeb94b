/**
 * Seeded fuzzing of the CBOR command set's decoders (protocol/commands): the framing of the CBOR INS
 * data (decodeCommandData / decodeResponseData), every validating reader in messages.ts, and the ISO
 * 9564 PIN block decoder.
 *
 * Invariants:
 *  - for any input, a decoder returns or throws DecodeError — nothing else;
 *  - a reader that accepts a value accepts exactly what its encoder writes back: encode(read(v)) is
 *    byte-for-byte the canonical encoding of v (no field dropped, invented or reinterpreted);
 *  - valid messages round-trip: read(encode(x)) deep-equals x, also through command||CBOR bytes;
 *  - decodeCommandData / decodePinBlock accept only what their encoders produce.
 *
 * FUZZ_SEED overrides the seed (printed in the titles), FUZZ_ROUNDS multiplies the case counts.
 */
import assert from 'node:assert/strict';
import { bytesEqual, toHex } from '../../protocol/bytes.js';
import {
  CborTagged,
  MapReader,
  decodeCanonical,
  encodeCanonical,
  toDiagnostic,
  type CborKey,
  type CborMap,
  type CborValue,
} from '../../protocol/cbor/index.js';
import {
  CMD,
  LIFECYCLE,
  MAX_AMOUNT,
  MAX_COUNTER,
  decodeCommandData,
  decodePinBlock,
  decodeResponseData,
  encodeCardInfo,
  encodeChangePinRequest,
  encodeCommandData,
  encodeJournalPage,
  encodeLimits,
  encodeLoadRequest,
  encodeBlockCardRequest,
  encodeLoadResult,
  encodePersonalizeBeginRequest,
  encodePersonalizeBeginResult,
  encodePersonalizeCommitRequest,
  encodePinBlock,
  encodeReadJournalRequest,
  encodeRecordResponse,
  encodeResponseData,
  encodeRetries,
  encodeSelectInfo,
  encodeSignTxnRequest,
  encodeUnblockPinRequest,
  encodeVerifyPinRequest,
  encodeVoidTxnRequest,
  readCardInfo,
  readChangePinRequest,
  readJournalPage,
  readLimits,
  readLoadRequest,
  readBlockCardRequest,
  readLoadResult,
  readNoParams,
  readPersonalizeBeginRequest,
  readPersonalizeBeginResult,
  readPersonalizeCommitRequest,
  readReadJournalRequest,
  readRecordResponse,
  readRetries,
  readSelectInfo,
  readSignTxnRequest,
  readUnblockPinRequest,
  readVerifyPinRequest,
  readVoidTxnRequest,
  type CardInfo,
  type Lifecycle,
  type Limits,
} from '../../protocol/commands/index.js';
import { DecodeError } from '../../protocol/errors.js';
import { Prng } from '../support/prng.js';
import { attempt, tryEncode, fuzzSeed, FUZZ_ROUNDS, hexSeed, explain } from '../support/fuzz.js';

const SEED = fuzzSeed(0xc0_3a4d);
const ROUNDS = FUZZ_ROUNDS;

function show(v: CborValue): string {
  try {
    const d = toDiagnostic(v);
    return d.length > 600 ? `${d.slice(0, 600)}…` : d;
  } catch {
    return String(v);
  }
}

/**
 * Capturing a stack for each of the ~10^5 expected DecodeErrors is most of the run time, so the hot
 * loops run with Error.stackTraceLimit = 0; a failing input is re-run with stacks on for the report.
 */
const STACK_LIMIT = Error.stackTraceLimit;
function cheapErrors(): void {
  before(() => {
    Error.stackTraceLimit = 0;
  });
  after(() => {
    Error.stackTraceLimit = STACK_LIMIT;
  });
}

/** assert with a message built only on failure (the messages hex-dump whole inputs). */
function expect(cond: boolean, message: () => string): void {
  if (!cond) assert.fail(message());
}

// ---------------------------------------------------------------- random CBOR values

const utf8 = (s: string): number => new TextEncoder().encode(s).length;

/** A value of any type, biased towards what the readers look for (byte strings of protocol lengths, ids, ranges). */
function randomScalar(rng: Prng): CborValue {
  switch (rng.int(16)) {
    case 0:
      return rng.int(24);
    case 1:
      return rng.int(0x10000);
    case 2:
      return rng.pick([
        0,
        1,
        15,
        16,
        255,
        256,
        999,
        1000,
        1023,
        1024,
        65535,
        65536,
        0xffff_ffff,
        0x1_0000_0000,
        MAX_AMOUNT,
      ]);
    case 3:
      return -1 - rng.int(1000);
    case 4:
      return rng.pick([2n ** 53n, 2n ** 64n - 1n, -(2n ** 53n) - 1n, -(2n ** 64n)]);
    case 5:
      return rng.pick([0.5, -1.5, 1e300, NaN, Infinity, -Infinity, 2 ** 53 + 2, 1.0000001]);
    case 6:
      return rng.bytes(rng.pick([0, 1, 4, 7, 8, 9, 12, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65, 66]));
    case 7:
      return rng.bytes(rng.int(rng.bool(0.95) ? 100 : 5000));
    case 8:
      return String.fromCharCode(...Array.from({ length: rng.int(40) }, () => 0x20 + rng.int(95)));
    case 9:
      return rng.pick([
        '',
        'M',
        'é',
        '水',
        '😀',
        'x'.repeat(32),
        'x'.repeat(33),
        '水'.repeat(10),
        '水'.repeat(11),
        '\u0000',
      ]);
    case 10:
      return rng.pick([true, false, null, undefined]);
    case 11:
      return String.fromCharCode(...Array.from({ length: 4 + rng.int(9) }, () => 0x30 + rng.int(10)));
    case 12:
      return new TextEncoder().encode(String(rng.int(10 ** 8)).padStart(4 + rng.int(9), '0'));
    default:
      return rng.int(1_000_000_000);
  }
}

/** Random CBOR: mostly maps with small int keys (the shape of every message), values of every type. */
function randomValue(rng: Prng, depth: number): CborValue {
  const kind = depth <= 0 ? 9 : rng.int(10);
  if (kind < 2) return randomMap(rng, depth - 1);
  if (kind === 2)
    return Array.from({ length: rng.int(5) }, () =>
      rng.bool(0.5) ? rng.bytes(rng.int(80)) : randomValue(rng, depth - 1),
    );
  if (kind === 3) return new CborTagged(rng.pick([0, 1, 24, 1000]), randomValue(rng, depth - 1));
  return randomScalar(rng);
}

function randomKey(rng: Prng): CborKey {
  if (rng.bool(0.85)) return rng.int(21);
  return rng.pick<CborKey>([-1, -2, 100, 0xffff_ffff, 'a', '1', '', 2n ** 63n]);
}

function randomMap(rng: Prng, depth: number): CborMap {
  const m: CborMap = new Map();
  const n = rng.int(rng.bool(0.7) ? 8 : 22);
  for (let i = 0; i < n; i++) m.set(randomKey(rng), randomValue(rng, depth));
  return m;
}

// ---------------------------------------------------------------- message specs

const digits = (rng: Prng, min: number, max: number): Uint8Array =>
  Uint8Array.from({ length: rng.range(min, max) }, () => 0x30 + rng.int(10));

function uintIn(rng: Prng, min: number, max: number): number {
  if (rng.bool(0.3)) return rng.pick([min, max, Math.min(max, min + 1), Math.max(min, max - 1)]);
  if (max - min < 0x1_0000_0000) return min + rng.int(max - min + 1);
  return min + Math.floor(rng.float() * (max - min));
}

/** Text of minBytes…maxBytes UTF-8 bytes, sometimes with multi-byte characters. */
function textIn(rng: Prng, minBytes: number, maxBytes: number): string {
  const target = rng.range(minBytes, maxBytes);
  let s = '';
  while (utf8(s) < target) {
    const c = rng.bool(0.8) ? String.fromCharCode(0x21 + rng.int(94)) : rng.pick(['é', '水', '😀']);
    if (utf8(s + c) > target) break;
    s += c;
  }
  while (utf8(s) < minBytes) s += 'x';
  return s;
}

function randomLimits(rng: Prng): Limits {
  return {
    perTransaction: uintIn(rng, 0, MAX_AMOUNT),
    noPin: uintIn(rng, 0, MAX_AMOUNT),
    offlineAmount: uintIn(rng, 0, MAX_AMOUNT),
    offlineCount: uintIn(rng, 0, MAX_COUNTER),
    maxBalance: uintIn(rng, 0, MAX_AMOUNT),
  };
}

interface Spec<T> {
  name: string;
  /** Command byte the message travels with (for the command||CBOR byte path). */
  command: number;
  gen(rng: Prng): T;
  encode(x: T): CborMap;
  read(v: CborValue): T;
  /** The reader takes bytes: `read` encodes v first, so v must be encodable. */
  bytesInput?: boolean;
}

const LIFECYCLES = Object.values(LIFECYCLE) as Lifecycle[];

function genCardInfo(rng: Prng): CardInfo {
  const lifecycle = rng.pick(LIFECYCLES);
  const info: CardInfo = {
    protocolVersion: uintIn(rng, 0, 3),
    lifecycle,
    algorithm: uintIn(rng, 1, 255),
    counter: uintIn(rng, 0, MAX_COUNTER),
    balance: uintIn(rng, 0, MAX_AMOUNT),
    offlineAmount: uintIn(rng, 0, MAX_AMOUNT),
    offlineCount: uintIn(rng, 0, MAX_COUNTER),
    pinRetries: uintIn(rng, 0, 15),
    pukRetries: uintIn(rng, 0, 15),
    lastRecordHash: rng.bytes(32),
    loadCounter: uintIn(rng, 0, MAX_COUNTER),
    maxMessageSize: uintIn(rng, 1024, 65535),
    journalCapacity: uintIn(rng, 0, 65535),
    pinVerified: rng.bool(),
  };
  if (lifecycle !== LIFECYCLE.BLANK || rng.bool(0.3)) {
    info.cardId = rng.bytes(8);
    info.publicKey = rng.bytes(65);
    info.certificate = rng.bytes(rng.int(600));
    info.currency = uintIn(rng, 1, 999);
    info.limits = randomLimits(rng);
  }
  return info;
}

/** Erase a spec's message type, for the table. */
const spec = <T>(s: Spec<T>): Spec<unknown> => s as unknown as Spec<unknown>;

const SPECS: Spec<unknown>[] = [
  spec<Parameters<typeof encodeSelectInfo>[0]>({
    name: 'readSelectInfo',
    command: 0x00,
    gen: (rng) => ({
      protocolVersion: uintIn(rng, 0, MAX_AMOUNT),
      maxMessageSize: uintIn(rng, 1024, 65535),
      extendedLength: rng.bool(),
      lifecycle: rng.pick(LIFECYCLES),
    }),
    encode: (x) => decodeCanonical(encodeSelectInfo(x)) as CborMap,
    read: (v) => readSelectInfo(encodeCanonical(v)), // the SELECT reader takes bytes
    bytesInput: true,
  }),
  spec<CardInfo>({
    name: 'readCardInfo',
    command: CMD.GET_INFO,
    gen: genCardInfo,
    encode: encodeCardInfo,
    read: readCardInfo,
  }),
  spec<{ pin: Uint8Array }>({
    name: 'readVerifyPinRequest',
    command: CMD.VERIFY_PIN,
    gen: (rng) => ({ pin: digits(rng, 4, 12) }),
    encode: (x) => encodeVerifyPinRequest(x.pin),
    read: readVerifyPinRequest,
  }),
  spec<{ oldPin: Uint8Array; newPin: Uint8Array }>({
    name: 'readChangePinRequest',
    command: CMD.CHANGE_PIN,
    gen: (rng) => ({ oldPin: digits(rng, 4, 12), newPin: digits(rng, 4, 12) }),
    encode: (x) => encodeChangePinRequest(x.oldPin, x.newPin),
    read: readChangePinRequest,
  }),
  spec<{ puk: Uint8Array; newPin: Uint8Array }>({
    name: 'readUnblockPinRequest',
    command: CMD.UNBLOCK_PIN,
    gen: (rng) => ({ puk: digits(rng, 8, 12), newPin: digits(rng, 4, 12) }),
    encode: (x) => encodeUnblockPinRequest(x.puk, x.newPin),
    read: readUnblockPinRequest,
  }),
  spec<number>({
    name: 'readRetries',
    command: CMD.VERIFY_PIN,
    gen: (rng) => uintIn(rng, 0, 15),
    encode: encodeRetries,
    read: (v) => readRetries(v, 'VERIFY_PIN response'),
  }),
  spec<Parameters<typeof encodeSignTxnRequest>[0]>({
    name: 'readSignTxnRequest',
    command: CMD.SIGN_TXN,
    gen: (rng) => ({
      amount: uintIn(rng, 1, MAX_AMOUNT),
      currency: uintIn(rng, 1, 999),
      merchantId: textIn(rng, 1, 32),
      terminalId: textIn(rng, 1, 32),
      time: uintIn(rng, 0, MAX_AMOUNT),
      hostNonce: rng.bytes(16),
    }),
    encode: encodeSignTxnRequest,
    read: readSignTxnRequest,
  }),
  spec<Parameters<typeof encodeVoidTxnRequest>[0]>({
    name: 'readVoidTxnRequest',
    command: CMD.VOID_TXN,
    gen: (rng) => ({
      counter: uintIn(rng, 1, MAX_COUNTER),
      amount: uintIn(rng, 1, MAX_AMOUNT),
      merchantId: textIn(rng, 1, 32),
      terminalId: textIn(rng, 1, 32),
      time: uintIn(rng, 0, MAX_AMOUNT),
      hostNonce: rng.bytes(16),
    }),
    encode: encodeVoidTxnRequest,
    read: readVoidTxnRequest,
  }),
  spec<Uint8Array>({
    name: 'readRecordResponse',
    command: CMD.SIGN_TXN,
    gen: (rng) => rng.bytes(rng.bool(0.1) ? 4096 : rng.int(400)),
    encode: encodeRecordResponse,
    read: readRecordResponse,
  }),
  spec<Parameters<typeof encodeReadJournalRequest>[0]>({
    name: 'readReadJournalRequest',
    command: CMD.READ_JOURNAL,
    gen: (rng) =>
      rng.bool()
        ? { fromCounter: uintIn(rng, 0, MAX_COUNTER) }
        : { fromCounter: uintIn(rng, 0, MAX_COUNTER), maxRecords: uintIn(rng, 1, 65535) },
    encode: encodeReadJournalRequest,
    read: readReadJournalRequest,
  }),
  spec<Parameters<typeof encodeJournalPage>[0]>({
    name: 'readJournalPage',
    command: CMD.READ_JOURNAL,
    gen: (rng) => ({
      records: Array.from({ length: rng.int(6) }, () => rng.bytes(rng.bool(0.05) ? 4096 : rng.int(300))),
      oldestCounter: uintIn(rng, 0, MAX_COUNTER),
      lastCounter: uintIn(rng, 0, MAX_COUNTER),
    }),
    encode: encodeJournalPage,
    read: readJournalPage,
  }),
  spec<Parameters<typeof encodeLoadRequest>[0]>({
    name: 'readLoadRequest',
    command: CMD.LOAD,
    gen: (rng) => ({ token: rng.bytes(rng.int(1025)), authority: rng.bytes(rng.int(2049)) }),
    encode: encodeLoadRequest,
    read: readLoadRequest,
  }),
  spec<Parameters<typeof encodeBlockCardRequest>[0]>({
    name: 'readBlockCardRequest',
    command: CMD.BLOCK_CARD,
    gen: (rng) =>
      rng.bool()
        ? { order: rng.bytes(1 + rng.int(1024)) }
        : { order: rng.bytes(1 + rng.int(1024)), authority: rng.bytes(1 + rng.int(2048)) },
    encode: encodeBlockCardRequest,
    read: readBlockCardRequest,
  }),
  spec<Parameters<typeof encodeLoadResult>[0]>({
    name: 'readLoadResult',
    command: CMD.LOAD,
    gen: (rng) => ({ balance: uintIn(rng, 0, MAX_AMOUNT), loadCounter: uintIn(rng, 0, MAX_COUNTER) }),
    encode: encodeLoadResult,
    read: readLoadResult,
  }),
  spec<Parameters<typeof encodePersonalizeBeginRequest>[0]>({
    name: 'readPersonalizeBeginRequest',
    command: CMD.PERSONALIZE_BEGIN,
    gen: (rng) => ({ cardId: rng.bytes(8), algorithm: uintIn(rng, 1, 255), issuer: rng.bytes(rng.int(2049)) }),
    encode: encodePersonalizeBeginRequest,
    read: readPersonalizeBeginRequest,
  }),
  spec<Parameters<typeof encodePersonalizeBeginResult>[0]>({
    name: 'readPersonalizeBeginResult',
    command: CMD.PERSONALIZE_BEGIN,
    gen: (rng) => ({ publicKey: rng.bytes(65), challenge: rng.bytes(16) }),
    encode: encodePersonalizeBeginResult,
    read: readPersonalizeBeginResult,
  }),
  spec<Parameters<typeof encodePersonalizeCommitRequest>[0]>({
    name: 'readPersonalizeCommitRequest',
    command: CMD.PERSONALIZE_COMMIT,
    gen: (rng) => ({
      certificate: rng.bytes(rng.int(2049)),
      pin: digits(rng, 4, 12),
      puk: digits(rng, 8, 12),
      authorisation: rng.bytes(64),
    }),
    encode: encodePersonalizeCommitRequest,
    read: readPersonalizeCommitRequest,
  }),
  spec<Limits>({
    name: 'readLimits (via MapReader)',
    command: CMD.GET_INFO,
    gen: randomLimits,
    encode: encodeLimits,
    read: (v) => readLimits(new MapReader(v, 'limits')),
  }),
  spec<null>({
    name: 'readNoParams',
    command: CMD.GET_INFO,
    gen: () => null,
    encode: () => new Map(),
    read: (v) => {
      readNoParams(v as CborMap, 'GET_INFO request');
      return null;
    },
  }),
];

// ---------------------------------------------------------------- mutations

/** Values just outside (or on) the edges of the readers' ranges, and of every other type. */
function boundaryValue(rng: Prng, old: CborValue): CborValue {
  const around: CborValue[] = [];
  if (typeof old === 'number') around.push(old + 1, old - 1, -old - 1, old * 2 + 1);
  if (old instanceof Uint8Array)
    around.push(
      old.subarray(1),
      Uint8Array.from([...old, 0]),
      new Uint8Array(0),
      rng.bytes(old.length + 1 + rng.int(4096)),
    );
  if (typeof old === 'string')
    around.push(
      [...old].slice(1).join(''),
      old + 'x',
      '',
      old + '水',
      'x'.repeat(33),
      old.length > 0 ? new TextEncoder().encode(old) : 'x',
    );
  if (Array.isArray(old))
    around.push([...old, rng.bytes(rng.int(40))], old.slice(1), [...old, 1], [...old, rng.bytes(4097)], new Map());
  if (old instanceof Map) around.push([...old.values()], new Map());
  if (typeof old === 'boolean') around.push(!old, old ? 1 : 0, null);
  return rng.bool(0.6) && around.length > 0
    ? rng.pick(around)
    : rng.pick<CborValue>([
        -1,
        0,
        1,
        15,
        16,
        255,
        256,
        999,
        1000,
        1023,
        65535,
        65536,
        MAX_COUNTER,
        MAX_COUNTER + 1,
        MAX_AMOUNT,
        2n ** 53n,
        -(2n ** 53n) - 1n,
        0.5,
        NaN,
        true,
        null,
        undefined,
        '',
        new Uint8Array(0),
        [],
        new Map(),
      ]);
}

function mutateValue(rng: Prng, old: CborValue): CborValue {
  if (old instanceof Map && rng.bool(0.6)) return mutateMessage(rng, old);
  if (Array.isArray(old) && old.length > 0 && rng.bool(0.5)) {
    const a = [...old];
    const i = rng.int(a.length);
    a[i] = rng.bool(0.5) ? boundaryValue(rng, a[i]) : randomValue(rng, 1);
    return a;
  }
  return rng.bool(0.6) ? boundaryValue(rng, old) : randomValue(rng, 2);
}

/** One (sometimes two) field-level change: removed, added, retyped, out of range, key retyped. */
function mutateMessage(rng: Prng, src: CborMap): CborMap {
  const m: CborMap = new Map(src);
  const rounds = rng.bool(0.85) ? 1 : 2;
  for (let r = 0; r < rounds; r++) {
    const keys = [...m.keys()];
    const key = keys.length > 0 ? rng.pick(keys) : 1;
    switch (rng.int(6)) {
      case 0:
        m.delete(key);
        break; // field removed
      case 1: {
        // field added (unknown, or a neighbour of a known key)
        const k = rng.bool(0.5)
          ? rng.pick<CborKey>([0, 20, 21, 99, -1, 'x', 2n ** 64n - 1n])
          : typeof key === 'number'
            ? key + 1
            : 0;
        m.set(k, randomValue(rng, 1));
        break;
      }
      case 2:
        m.set(key, randomValue(rng, 2));
        break; // type change (usually)
      case 3:
      case 4:
        m.set(key, mutateValue(rng, m.get(key)));
        break; // near-miss value
      default: {
        // key type change: the same field under a text or big key
        if (typeof key === 'number') {
          const v = m.get(key);
          m.delete(key);
          m.set(rng.bool() ? String(key) : BigInt(key), v); // a bigint-typed key of the same value is a different Map key
        }
      }
    }
  }
  return m;
}

/** Generic byte damage for the command||CBOR path. */
function mutateBytes(rng: Prng, src: Uint8Array): Uint8Array {
  const b = Array.from(src);
  switch (rng.int(7)) {
    case 0: {
      const n = 1 + rng.int(3);
      for (let i = 0; i < n && b.length; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      break;
    }
    case 1:
      b.length = rng.int(b.length + 1);
      break;
    case 2:
      b.splice(rng.int(b.length + 1), 0, ...rng.bytes(1 + rng.int(4)));
      break;
    case 3:
      if (b.length) b.splice(rng.int(b.length), 1 + rng.int(3));
      break;
    case 4:
      if (b.length)
        b[rng.int(b.length)] = rng.pick([
          0x00, 0x18, 0x1b, 0x40, 0x5f, 0x7f, 0x9f, 0xa0, 0xbf, 0xf4, 0xf6, 0xf7, 0xfb, 0xff,
        ]);
      break;
    case 5:
      if (b.length) b[0] = rng.int(256);
      break; // command / status byte
    default:
      b.push(...rng.bytes(1 + rng.int(3)));
  }
  return Uint8Array.from(b);
}

// ---------------------------------------------------------------- checks

interface Tally {
  accepted: number;
  rejected: number;
}

/** read(v): DecodeError or a value that encodes back to exactly v. Values outside the CBOR model (no encoding) are not inputs. */
function checkReader(spec: Spec<unknown>, v: CborValue, tally: Tally): void {
  if (spec.bytesInput && tryEncode(v) === undefined) return; // no bytes to give it
  const out = attempt(
    spec.name,
    () => show(v),
    () => spec.read(v),
  );
  if (out instanceof DecodeError) {
    tally.rejected++;
    return;
  }
  const original = tryEncode(v);
  if (original === undefined) return; // not a CBOR value (e.g. a lone surrogate): no decoder can produce it
  tally.accepted++;
  let back: Uint8Array;
  try {
    back = encodeCanonical(spec.encode(out));
  } catch (e) {
    return assert.fail(`${spec.name} accepted ${show(v)} but its result does not encode: ${explain(e)}`);
  }
  expect(
    bytesEqual(back, original),
    () => `${spec.name} accepted ${show(v)} but it encodes back as ${show(decodeCanonical(back))}`,
  );
}

/** decodeCommandData / decodeResponseData on bytes: DecodeError, or a parse that re-encodes to the same bytes. */
function checkFraming(bytes: Uint8Array, tally: Tally): CborMap | undefined | DecodeError {
  const input = () => toHex(bytes);
  const cmd = attempt('decodeCommandData', input, () => decodeCommandData(bytes));
  const rsp = attempt('decodeResponseData', input, () => decodeResponseData(bytes));
  if (cmd instanceof DecodeError) {
    expect(rsp instanceof DecodeError, () => `decodeResponseData accepts ${input()} that decodeCommandData refuses`);
    tally.rejected++;
    return cmd;
  }
  if (rsp instanceof DecodeError)
    return assert.fail(`decodeResponseData refuses ${input()} that decodeCommandData accepts: ${rsp.message}`);
  expect(rsp.status === cmd.command, () => `status byte of ${input()}`);
  expect(cmd.params === undefined || cmd.params instanceof Map, () => `params of ${input()} are not a map`);
  expect(
    bytesEqual(encodeCommandData(cmd.command, cmd.params), bytes),
    () => `decodeCommandData accepted ${input()} which does not re-encode`,
  );
  expect(
    bytesEqual(encodeResponseData(rsp.status, rsp.result), bytes),
    () => `decodeResponseData accepted ${input()} which does not re-encode`,
  );
  tally.accepted++;
  return cmd.params;
}

// ---------------------------------------------------------------- tests

describe(`fuzz: CBOR command set decoders (seed ${hexSeed(SEED)})`, function () {
  this.timeout(60_000);
  cheapErrors();

  it(`valid messages of every type round-trip: read(encode(x)) deep-equals x, also through command||CBOR bytes (seed ${hexSeed(SEED)})`, () => {
    const rng = new Prng(SEED);
    for (const spec of SPECS) {
      for (let i = 0; i < 150 * ROUNDS; i++) {
        const x = spec.gen(rng);
        const map = spec.encode(x);
        const direct = attempt(
          spec.name,
          () => show(map),
          () => spec.read(map),
        );
        if (direct instanceof DecodeError)
          assert.fail(`${spec.name} refuses a valid message ${show(map)}: ${direct.message}`);
        assert.deepStrictEqual(direct, x, `${spec.name}: a valid message does not read back`);
        const bytes = encodeCommandData(spec.command, map);
        const parsed = decodeCommandData(bytes);
        assert.equal(parsed.command, spec.command, `${spec.name}: command byte`);
        const again = spec.read(parsed.params ?? new Map());
        assert.deepStrictEqual(again, x, `${spec.name}: a valid message does not read back through bytes`);
        const rsp = decodeResponseData(encodeResponseData(0, map));
        assert.deepStrictEqual(spec.read(rsp.result ?? new Map()), x, `${spec.name} as a response`);
      }
    }
  });

  it(`every reader on random CBOR values (maps with int keys, values of every type): only DecodeError, accepted values are exact (seed ${hexSeed(SEED + 1)})`, () => {
    const rng = new Prng(SEED + 1);
    for (const spec of SPECS) {
      const tally: Tally = { accepted: 0, rejected: 0 };
      for (let i = 0; i < 2_000 * ROUNDS; i++) {
        let v: CborValue = rng.bool(0.9) ? randomMap(rng, 2) : randomValue(rng, 2);
        if (spec.name === 'readNoParams' && !(v instanceof Map)) v = new Map(); // its input is CborMap | undefined (undefined: see the round-trip test)
        checkReader(spec, v, tally);
      }
      assert.ok(tally.rejected > 1_000 * ROUNDS, `${spec.name}: only ${tally.rejected} random values rejected`);
    }
  });

  it(`every reader on valid messages with a field removed, added, retyped or out of range: only DecodeError, accepted values are exact (seed ${hexSeed(SEED + 2)})`, () => {
    const rng = new Prng(SEED + 2);
    for (const spec of SPECS) {
      const tally: Tally = { accepted: 0, rejected: 0 };
      const framing: Tally = { accepted: 0, rejected: 0 };
      for (let i = 0; i < 2_000 * ROUNDS; i++) {
        const valid = spec.encode(spec.gen(rng));
        const m = mutateMessage(rng, valid);
        checkReader(spec, m, tally);
        // the same mutant as the card or host receives it: command||CBOR bytes, sometimes damaged further
        const encoded = tryEncode(m);
        if (encoded === undefined) continue;
        let bytes = encodeCommandData(spec.command, decodeCanonical(encoded) as CborMap);
        if (rng.bool(0.3)) bytes = mutateBytes(rng, bytes);
        const params = checkFraming(bytes, framing);
        if (params instanceof DecodeError) continue;
        if (spec.name === 'readNoParams') checkReader(spec, params ?? new Map(), tally);
        else if (params !== undefined) checkReader(spec, params, tally);
      }
      assert.ok(tally.rejected > 500 * ROUNDS, `${spec.name}: only ${tally.rejected} mutants rejected`);
      if (spec.name !== 'readNoParams')
        assert.ok(
          tally.accepted > 20,
          `${spec.name}: only ${tally.accepted} mutants accepted (mutations too destructive)`,
        );
    }
  });

  it(`decodeCommandData / decodeResponseData on random and mutated bytes: only DecodeError, accepted input re-encodes identically (seed ${hexSeed(SEED + 3)})`, () => {
    const rng = new Prng(SEED + 3);
    const tally: Tally = { accepted: 0, rejected: 0 };
    for (let i = 0; i < 6_000 * ROUNDS; i++) {
      let bytes: Uint8Array;
      switch (rng.int(4)) {
        case 0:
          bytes = rng.bytes(rng.bool(0.5) ? rng.int(6) : rng.int(300));
          break;
        case 1: {
          // command byte || any CBOR
          const enc = tryEncode(randomValue(rng, 3));
          bytes = enc ? encodeCommandData(rng.int(256), decodeCanonical(enc) as CborMap) : rng.bytes(3);
          break;
        }
        default: {
          // a valid message of some type, damaged
          const spec = rng.pick(SPECS);
          bytes = mutateBytes(rng, encodeCommandData(spec.command, spec.encode(spec.gen(rng))));
          if (rng.bool(0.3)) bytes = mutateBytes(rng, bytes);
        }
      }
      const params = checkFraming(bytes, tally);
      if (params instanceof DecodeError) {
        expect(
          ['COMMAND_EMPTY', 'RESPONSE_EMPTY'].includes(params.code) || params.code.startsWith('CBOR_'),
          () => `unexpected code ${params.code} for ${toHex(bytes)}`,
        );
        continue;
      }
      // and the parameters, whatever they are, through every reader
      if (params !== undefined) for (const spec of SPECS) checkReader(spec, params, { accepted: 0, rejected: 0 });
    }
    assert.ok(
      tally.accepted > 1_000 && tally.rejected > 1_000,
      `accepted ${tally.accepted}, rejected ${tally.rejected}`,
    );
  });
});

describe(`fuzz: ISO 9564 format 2 PIN blocks (seed ${hexSeed(SEED + 4)})`, function () {
  this.timeout(60_000);
  cheapErrors();

  function checkPinBlock(block: Uint8Array, min?: number, max?: number): boolean {
    const out = attempt(
      'decodePinBlock',
      () => `${toHex(block)} (min ${min}, max ${max})`,
      () => (min === undefined ? decodePinBlock(block) : decodePinBlock(block, min, max)),
    );
    if (out instanceof DecodeError) {
      assert.equal(out.code, 'PIN_BLOCK_INVALID', `unexpected code ${out.code} for ${toHex(block)}`);
      return false;
    }
    const lo = min ?? 4;
    const hi = max ?? 12;
    assert.equal(block.length, 8, `accepted a ${block.length}-byte block ${toHex(block)}`);
    assert.ok(
      out.length >= lo && out.length <= hi,
      `PIN of ${out.length} digits from ${toHex(block)} (min ${lo}, max ${hi})`,
    );
    assert.ok(
      out.every((d) => d >= 0x30 && d <= 0x39),
      `non-digit PIN from ${toHex(block)}`,
    );
    if (out.length >= 4 && out.length <= 12) {
      assert.equal(toHex(encodePinBlock(out)), toHex(block), `accepted block ${toHex(block)} does not re-encode`);
    }
    return true;
  }

  it(`random 0–12 byte inputs, structured blocks and mutated valid blocks: only DecodeError, accepted blocks re-encode (seed ${hexSeed(SEED + 4)})`, () => {
    const rng = new Prng(SEED + 4);
    let accepted = 0;
    for (let i = 0; i < 6_000 * ROUNDS; i++) {
      let block: Uint8Array;
      switch (rng.int(4)) {
        case 0:
          block = rng.bytes(rng.int(13));
          break;
        case 1: {
          // control nibble 2 and a random length, digits and filler mostly right
          block = rng.bytes(8);
          const n = rng.int(16);
          block[0] = 0x20 | n;
          for (let d = 2; d < 16; d++) {
            const nib =
              d < 2 + n ? (rng.bool(0.95) ? rng.int(10) : 10 + rng.int(6)) : rng.bool(0.95) ? 0xf : rng.int(15);
            block[d >> 1] = d % 2 === 0 ? (block[d >> 1]! & 0x0f) | (nib << 4) : (block[d >> 1]! & 0xf0) | nib;
          }
          break;
        }
        default: {
          // a valid block, one bit/byte/length change
          const valid = encodePinBlock(digits(rng, 4, 12));
          block = mutateBytes(rng, valid);
          if (rng.bool(0.3)) block = valid;
        }
      }
      if (checkPinBlock(block)) accepted++;
      if (rng.bool(0.3)) {
        const min = rng.int(16);
        checkPinBlock(block, min, min + rng.int(16 - min));
      }
    }
    assert.ok(accepted > 1_000, `only ${accepted} blocks accepted`);
  });

  it('every PIN of 4 to 12 digits round-trips through its block', () => {
    const rng = new Prng(SEED + 5);
    for (let i = 0; i < 2_000; i++) {
      const pin = digits(rng, 4, 12);
      assert.equal(toHex(decodePinBlock(encodePinBlock(pin))), toHex(pin), `PIN ${new TextDecoder().decode(pin)}`);
    }
  });
});
