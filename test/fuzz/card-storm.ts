/**
 * The seeded APDU storm's generator, shared by the fuzz suites of every card implementation:
 * test/fuzz/card-applet.test.ts (the TypeScript applet, with its internals observed) and
 * test/firmware/native-fuzz.test.ts (any card of test/conformance/card-impls.ts, black-box).
 * SELECT, ISO PIN commands with random PIN blocks, the CBOR INS with random, valid and mutated
 * command||CBOR (SIGN_TXN above all), chained parts, GET RESPONSE, raw garbage.
 */
import { encodeCommandApdu, type CommandApdu } from '../../protocol/apdu/index.js';
import { bytesEqual } from '../../protocol/bytes.js';
import { CborTagged, decodeCanonical, type CborKey, type CborMap, type CborValue } from '../../protocol/cbor/index.js';
import {
  CARD_AID,
  CMD,
  MAX_COUNTER,
  encodeChangePinRequest,
  encodeCommandData,
  encodeLoadRequest,
  encodePersonalizeBeginRequest,
  encodePersonalizeCommitRequest,
  encodePinBlock,
  encodeReadJournalRequest,
  encodeSignTxnRequest,
  encodeUnblockPinRequest,
  encodeVerifyPinRequest,
  type SignTxnRequest,
} from '../../protocol/commands/index.js';
import { EncodeError } from '../../protocol/errors.js';
import { TestIssuer, ascii } from '../support/issuer.js';
import { Prng } from '../support/prng.js';

export const PIN = ascii('1234');
export const PUK = ascii('12345678');
/** The first top-up of a storm card. */
export const LOADED = 100_000;
/** Each genuine top-up during a storm. */
export const TOPUP = 50_000;

function apdu(rng: Prng, cmd: CommandApdu): Uint8Array {
  const fits = (cmd.data?.length ?? 0) <= 255 && (cmd.le ?? 0) <= 256;
  return encodeCommandApdu(cmd, fits && rng.bool(0.7) ? 'short' : 'extended');
}

function randomLe(rng: Prng): number | undefined {
  return rng.pick([undefined, 256, 256, 65536, 1 + rng.int(16), 1 + rng.int(256), 1 + rng.int(65536)]);
}

function mutateBytes(rng: Prng, src: Uint8Array): Uint8Array {
  const b = Array.from(src);
  const i = b.length ? rng.int(b.length) : 0;
  switch (rng.int(8)) {
    case 0:
      if (b.length) b[i]! ^= 1 << rng.int(8);
      break;
    case 1:
      b.length = rng.int(b.length + 1);
      break;
    case 2:
      b.splice(i, 0, ...rng.bytes(1 + rng.int(3)));
      break;
    case 3:
      b.splice(i, 1 + rng.int(3));
      break;
    case 4:
      if (b.length) b[i] = rng.pick([0x00, 0x01, 0x17, 0x18, 0x1b, 0x40, 0x5f, 0x7f, 0x9f, 0xa0, 0xbf, 0xf6, 0xff]);
      break;
    case 5:
      b.push(...rng.bytes(1 + rng.int(4)));
      break;
    case 6: {
      const j = rng.int(b.length + 1);
      b.splice(i, 0, ...b.slice(j, j + rng.int(8)));
      break;
    }
    default:
      if (b.length > 1) {
        const j = rng.int(b.length);
        [b[i], b[j]] = [b[j]!, b[i]!];
      }
  }
  return Uint8Array.from(b);
}

/** APDU-level damage: header bytes, Lc, Le, truncation, extension. */
function mutateApdu(rng: Prng, src: Uint8Array): Uint8Array {
  const b = Array.from(src);
  switch (rng.int(6)) {
    case 0:
      b[rng.int(4)] = rng.pick([0x00, 0x80, 0x90, 0x10, 0xc0, 0xa4, 0x20, 0xff, rng.int(256)]);
      break;
    case 1:
      if (b.length > 4) b[4] = rng.pick([0, 1, 0xff, (b[4]! + 1) & 0xff, rng.int(256)]);
      break;
    case 2:
      if (b.length > 4) b[b.length - 1] = rng.int(256);
      break;
    case 3:
      b.length = Math.max(0, b.length - 1 - rng.int(3));
      break;
    case 4:
      b.push(...rng.bytes(1 + rng.int(3)));
      break;
    default:
      return mutateBytes(rng, src);
  }
  return Uint8Array.from(b);
}

function randomScalar(rng: Prng): CborValue {
  switch (rng.int(11)) {
    case 0:
      return rng.int(24);
    case 1:
      return rng.pick([0, 1, 255, 999, 1000, 5000, 5001, 200_000, 200_001, MAX_COUNTER, Number.MAX_SAFE_INTEGER]);
    case 2:
      return -1 - rng.int(100);
    case 3:
      return rng.pick([2n ** 53n, 2n ** 64n - 1n]);
    case 4:
      return rng.pick([0.5, NaN]);
    case 5:
      return rng.bytes(rng.pick([0, 4, 8, 12, 15, 16, 17, 32, 64, 65]));
    case 6:
      return rng.pick(['', 'M', 'x'.repeat(32), 'x'.repeat(33), '水']);
    case 7:
      return rng.pick([true, false, null, undefined]);
    case 8:
      return ascii(String(rng.int(10 ** 6)).padStart(4, '0'));
    case 9:
      return new CborTagged(1, rng.int(10));
    default:
      return [rng.bytes(4)];
  }
}

function randomMap(rng: Prng): CborMap {
  const m: CborMap = new Map();
  const n = rng.int(8);
  for (let i = 0; i < n; i++) m.set(rng.bool(0.9) ? rng.int(10) : rng.pick<CborKey>([-1, 'a', 20]), randomScalar(rng));
  return m;
}

/** One field of a request map removed, added, retyped or nudged. */
function mutateMessage(rng: Prng, src: CborMap): CborMap {
  const m: CborMap = new Map(src);
  const keys = [...m.keys()];
  const key = keys.length ? rng.pick(keys) : 1;
  const old = m.get(key);
  switch (rng.int(5)) {
    case 0:
      m.delete(key);
      break;
    case 1:
      m.set(rng.pick<CborKey>([0, 7, 9, -1, 'x']), randomScalar(rng));
      break;
    case 2:
      m.set(key, randomScalar(rng));
      break;
    case 3:
      if (typeof old === 'number') m.set(key, rng.pick([old + 1, old - 1, 0, old * 1000, -old]));
      else if (old instanceof Uint8Array) m.set(key, rng.bool() ? mutateBytes(rng, old) : old.subarray(1));
      else if (typeof old === 'string')
        m.set(key, rng.pick([old + 'x', '', [...old].slice(1).join(''), 'y'.repeat(40)]));
      else m.set(key, randomScalar(rng));
      break;
    default:
      m.delete(key);
      m.set(String(key), old);
  }
  return m;
}

export interface StormState {
  rng: Prng;
  issuer: TestIssuer;
  cardId: Uint8Array;
  /** A genuine LOAD for the next sequence number: only ever sent mutated. */
  genuineLoad: Uint8Array;
  lastSale: SignTxnRequest | undefined;
}

function sale(s: StormState): SignTxnRequest {
  const { rng } = s;
  if (s.lastSale && rng.bool(0.08)) {
    // the host re-sends (same request: same record) or reuses the nonce for another sale (NONCE_REUSED)
    return rng.bool() ? s.lastSale : { ...s.lastSale, amount: s.lastSale.amount + 1 };
  }
  // mostly small sales, some above the no-PIN limit (5000), a few over the per-transaction limit
  const amount = rng.bool(0.8)
    ? 1 + rng.int(400)
    : rng.bool(0.75)
      ? 5001 + rng.int(4000)
      : rng.pick([0, 200_001, 1_000_000]);
  const q: SignTxnRequest = {
    amount: Math.max(1, amount),
    currency: rng.bool(0.95) ? 156 : rng.pick([978, 840]),
    merchantId: `M-${rng.int(1000)}`,
    terminalId: rng.bool(0.9) ? `T-${rng.int(100)}` : '收银台'.repeat(1 + rng.int(3)),
    time: 1_750_000_000 + rng.int(10_000_000),
    hostNonce: rng.bytes(16),
  };
  s.lastSale = q;
  return q;
}

/** A CBOR command's data (command byte || map), valid for the card's protocol. */
function validCborData(s: StormState): Uint8Array {
  const { rng } = s;
  const pinOrWrong = (): Uint8Array =>
    rng.bool(0.6) ? PIN : ascii(String(rng.int(10 ** 6)).padStart(4 + rng.int(3), '0'));
  switch (
    rng.pick([
      'sign',
      'sign',
      'sign',
      'sign',
      'info',
      'journal',
      'verify',
      'change',
      'unblock',
      'load',
      'begin',
      'commit',
    ])
  ) {
    case 'sign':
      return encodeCommandData(CMD.SIGN_TXN, encodeSignTxnRequest(sale(s)));
    case 'info':
      return encodeCommandData(CMD.GET_INFO, rng.bool(0.8) ? undefined : new Map());
    case 'journal':
      return encodeCommandData(
        CMD.READ_JOURNAL,
        encodeReadJournalRequest(
          rng.bool() ? { fromCounter: rng.int(120) } : { fromCounter: rng.int(3), maxRecords: 1 + rng.int(5) },
        ),
      );
    case 'verify':
      return encodeCommandData(CMD.VERIFY_PIN, encodeVerifyPinRequest(pinOrWrong()));
    case 'change':
      return encodeCommandData(CMD.CHANGE_PIN, encodeChangePinRequest(pinOrWrong(), PIN));
    case 'unblock':
      return encodeCommandData(CMD.UNBLOCK_PIN, encodeUnblockPinRequest(rng.bool(0.8) ? PUK : ascii('87654321'), PIN));
    case 'load':
      return mutateLoad(s);
    case 'begin':
      return encodeCommandData(
        CMD.PERSONALIZE_BEGIN,
        encodePersonalizeBeginRequest({ cardId: s.cardId, algorithm: 1, issuer: s.issuer.certificate.envelope }),
      );
    default:
      return encodeCommandData(
        CMD.PERSONALIZE_COMMIT,
        encodePersonalizeCommitRequest({
          certificate: s.issuer.authority.envelope,
          pin: PIN,
          puk: PUK,
          authorisation: rng.bytes(64),
        }),
      );
  }
}

/** A LOAD that must fail: the genuine next token damaged, replayed, for another card, or with a bad authority. */
function mutateLoad(s: StormState): Uint8Array {
  const { rng, issuer, cardId } = s;
  let data: Uint8Array;
  switch (rng.int(5)) {
    case 0:
      data = encodeCommandData(
        CMD.LOAD,
        encodeLoadRequest({ token: issuer.topup(cardId, 1, 5000).envelope, authority: issuer.authority.envelope }),
      );
      break; // replay of seq 1
    case 1:
      data = encodeCommandData(
        CMD.LOAD,
        encodeLoadRequest({
          token: issuer.topup(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 2, 5000).envelope,
          authority: issuer.authority.envelope,
        }),
      );
      break;
    case 2: {
      // the right token, a damaged authority certificate
      const m = loadParts(s.genuineLoad);
      data = encodeCommandData(
        CMD.LOAD,
        encodeLoadRequest({ token: m.token, authority: mutateBytes(rng, m.authority) }),
      );
      break;
    }
    case 3: {
      // a damaged token
      const m = loadParts(s.genuineLoad);
      data = encodeCommandData(
        CMD.LOAD,
        encodeLoadRequest({
          token: mutateBytes(rng, m.token),
          authority: rng.bool(0.8) ? m.authority : issuer.certificate.envelope,
        }),
      );
      break;
    }
    default:
      data = mutateBytes(rng, s.genuineLoad);
  }
  return bytesEqual(data, s.genuineLoad) ? encodeCommandData(CMD.LOAD) : data;

  function loadParts(d: Uint8Array): { token: Uint8Array; authority: Uint8Array } {
    const map = decodeCanonical(d.subarray(1)) as CborMap;
    return { token: map.get(1) as Uint8Array, authority: map.get(2) as Uint8Array };
  }
}

/** A genuine LOAD command for top-up number `loadSeq` that keeps the offline totals. */
export function loadCommand(issuer: TestIssuer, cardId: Uint8Array, loadSeq: number): Uint8Array {
  const token = issuer.topup(cardId, loadSeq, TOPUP, { resetOffline: false }).envelope;
  return encodeCommandData(CMD.LOAD, encodeLoadRequest({ token, authority: issuer.authority.envelope }));
}

/** command||CBOR: valid, field-mutated, byte-mutated or random. */
function cborData(s: StormState): Uint8Array {
  const { rng } = s;
  const valid = validCborData(s);
  switch (rng.int(6)) {
    case 0:
    case 1:
      return valid;
    case 2: {
      // one field changed
      let map: CborValue;
      try {
        map = decodeCanonical(valid.subarray(1));
      } catch {
        return valid; // already damaged (a mutated LOAD)
      }
      if (!(map instanceof Map)) return valid;
      try {
        return encodeCommandData(valid[0]!, mutateMessage(rng, map));
      } catch (e) {
        if (e instanceof EncodeError) return valid;
        throw e;
      }
    }
    case 3:
      return mutateBytes(rng, valid);
    case 4: {
      // another command byte, random parameters
      try {
        return encodeCommandData(
          rng.bool(0.8) ? rng.int(12) : rng.int(256),
          rng.bool(0.2) ? undefined : randomMap(rng),
        );
      } catch (e) {
        if (e instanceof EncodeError) return Uint8Array.of(rng.int(12));
        throw e;
      }
    }
    default:
      return rng.bool(0.3) ? new Uint8Array(0) : rng.bytes(1 + rng.int(60));
  }
}

function pinBlock(rng: Prng): Uint8Array {
  switch (rng.int(5)) {
    case 0:
      return encodePinBlock(PIN);
    case 1:
      return encodePinBlock(ascii(String(rng.int(10 ** 8)).padStart(4 + rng.int(5), '0')));
    case 2:
      return mutateBytes(rng, encodePinBlock(PIN));
    case 3:
      return rng.bytes(8);
    default:
      return rng.bytes(rng.int(20));
  }
}

/** One step of the storm: one APDU, or a chain of them. */
export function nextStep(s: StormState): { what: string; apdus: Uint8Array[] } {
  const { rng } = s;
  const mutate = (x: Uint8Array): Uint8Array => (rng.bool(0.12) ? mutateApdu(rng, x) : x);
  const roll = rng.int(100);
  if (roll < 6) return { what: 'random bytes', apdus: [rng.bytes(rng.bool(0.8) ? rng.int(12) : rng.int(300))] };
  if (roll < 12) {
    const cmd: CommandApdu = {
      cla: rng.pick([0x00, 0x80, 0x90, 0x10, 0x84, 0x01, rng.int(255)]),
      ins: rng.int(256),
      p1: rng.int(256),
      p2: rng.int(256),
    };
    if (rng.bool()) cmd.data = rng.bytes(1 + rng.int(300));
    const le = randomLe(rng);
    if (le !== undefined) cmd.le = le;
    return { what: 'random command', apdus: [apdu(rng, cmd)] };
  }
  if (roll < 17) {
    const cmd: CommandApdu = {
      cla: 0x00,
      ins: 0xa4,
      p1: rng.bool(0.9) ? 0x04 : rng.int(256),
      p2: rng.pick([0x00, 0x0c, 0x00, rng.int(256)]),
      data: rng.bool(0.85) ? CARD_AID : mutateBytes(rng, CARD_AID),
    };
    if (cmd.data!.length === 0) delete cmd.data;
    const le = randomLe(rng);
    if (le !== undefined) cmd.le = le;
    return { what: 'SELECT', apdus: [mutate(apdu(rng, cmd))] };
  }
  if (roll < 27) {
    const cmd: CommandApdu = { cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x80 };
    if (rng.bool(0.9)) {
      const b = pinBlock(rng);
      if (b.length) cmd.data = b;
    }
    return { what: 'ISO VERIFY', apdus: [mutate(apdu(rng, cmd))] };
  }
  if (roll < 30) {
    const ins = rng.pick([0x24, 0x2c]);
    const first =
      ins === 0x24
        ? rng.bool(0.5)
          ? encodePinBlock(PIN)
          : pinBlock(rng)
        : rng.bool(0.5)
          ? encodePinBlock(PUK)
          : pinBlock(rng);
    const data = Uint8Array.from([...first, ...(rng.bool(0.8) ? encodePinBlock(PIN) : pinBlock(rng))]);
    const cmd: CommandApdu = { cla: 0x00, ins, p1: 0x00, p2: 0x80 };
    if (data.length) cmd.data = data;
    return {
      what: ins === 0x24 ? 'ISO CHANGE REFERENCE DATA' : 'ISO RESET RETRY COUNTER',
      apdus: [mutate(apdu(rng, cmd))],
    };
  }
  if (roll < 36) {
    const cmd: CommandApdu = { cla: rng.pick([0x00, 0x80, 0x00, 0x90]), ins: 0xc0, p1: 0, p2: 0 };
    const le = randomLe(rng);
    if (le !== undefined) cmd.le = le;
    return { what: 'GET RESPONSE', apdus: [mutate(apdu(rng, cmd))] };
  }
  const data = cborData(s);
  if (roll < 88 || data.length < 2) {
    const cmd: CommandApdu = { cla: 0x80, ins: 0x10, p1: 0, p2: 0 };
    if (data.length) cmd.data = data;
    const le = rng.bool(0.8) ? rng.pick([256, 65536]) : randomLe(rng);
    if (le !== undefined) cmd.le = le;
    return { what: `CBOR command ${data[0]?.toString(16) ?? '-'}`, apdus: [mutate(apdu(rng, cmd))] };
  }
  // chained: short parts with CLA 90, the last with 80 and Le; sometimes a part dropped, doubled, re-headed or interleaved
  const chunk = 1 + rng.int(rng.bool() ? 40 : 255);
  const parts: CommandApdu[] = [];
  for (let off = 0; off < data.length; off += chunk) {
    const last = off + chunk >= data.length;
    const p: CommandApdu = { cla: last ? 0x80 : 0x90, ins: 0x10, p1: 0, p2: 0, data: data.subarray(off, off + chunk) };
    if (last) p.le = 256;
    parts.push(p);
  }
  if (rng.bool(0.3)) {
    const i = rng.int(parts.length);
    switch (rng.int(5)) {
      case 0:
        parts.splice(i, 1);
        break;
      case 1:
        parts.splice(i, 0, parts[i]!);
        break;
      case 2:
        parts[i] = { ...parts[i]!, p1: 1 };
        break;
      case 3:
        parts.splice(i, 0, { cla: 0x00, ins: 0x20, p1: 0, p2: 0x80 });
        break;
      default:
        parts.length = i; // the chain never ends
    }
  }
  return {
    what: `chained CBOR command ${data[0]!.toString(16)} in ${parts.length} parts`,
    apdus: parts.map((p) => mutate(encodeCommandApdu(p, 'short'))),
  };
}

/**
 * Keeps the card usable: SELECT (mutated SELECTs deselect the application), then the correct PUK,
 * which resets both try counters and sets the PIN back (refused once the card is terminated).
 */
export function maintenance(): Uint8Array[] {
  return [
    encodeCommandApdu({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x0c, data: CARD_AID }),
    encodeCommandApdu({
      cla: 0x00,
      ins: 0x2c,
      p1: 0x00,
      p2: 0x80,
      data: Uint8Array.from([...encodePinBlock(PUK), ...encodePinBlock(PIN)]),
    }),
  ];
}
