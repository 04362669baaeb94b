/**
 * Seeded APDU storm against the simulated card applet (device-sim/card/applet.ts).
 *
 * Thousands of random and mutated APDUs — SELECT, ISO VERIFY / CHANGE REFERENCE DATA / RESET RETRY
 * COUNTER with random PIN blocks, the CBOR INS (80 10) with random, valid and mutated command||CBOR
 * (SIGN_TXN above all), chained parts, GET RESPONSE, raw garbage — go to `applet.transmit`. For every
 * one of them the card must:
 *  - not throw, and answer at least a status word (SW1 in 61..6F or 90), never 6F00 (= an internal
 *    exception was caught), never the CBOR status INTERNAL_ERROR (0x7F);
 *  - return no more data than the command's Le allows;
 *  - change its purse only by signing a valid SIGN_TXN request, one record per counter step, a record
 *    that answers exactly that request;
 *  - change its balance otherwise only by the test's own genuine top-ups (sent every 250 steps when
 *    the balance runs low; every other LOAD it sees is damaged, replayed or for another card).
 * After the storm, through GET_INFO and READ_JOURNAL: counter == journal records == signs observed,
 * balance + Σ amounts == the loaded total, offline totals agree, the hash chain is intact, every
 * record verifies under the card certificate's key, and every record a host received is in the journal.
 * A maintenance step every 16 steps (SELECT + the right PUK) keeps the card from being terminated by
 * wrong PUKs; PIN-blocked periods still happen between them.
 *
 * Internal errors are caught by spying on the applet's private `process` and its CardCommands
 * (`run`, `refusal`): the spies only observe, they do not change behaviour.
 *
 * FUZZ_SEED overrides the seed (printed in the titles), FUZZ_ROUNDS multiplies the storm length.
 * The card's own randomness (key, challenge) and the issuer's keys are not seeded: a failure prints
 * the APDU in hex and the step number.
 */
import assert from 'node:assert/strict';
import {
  CLA_CHAINING_BIT,
  decodeCommandApdu,
  decodeResponseApdu,
  encodeCommandApdu,
  type CommandApdu,
  type LengthEncoding,
} from '../../protocol/apdu/index.js';
import { bytesEqual, toHex } from '../../protocol/bytes.js';
import { CborTagged, decodeCanonical, type CborKey, type CborMap, type CborValue } from '../../protocol/cbor/index.js';
import {
  CARD_AID,
  CMD,
  CardClient,
  LIFECYCLE,
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
  readRecordResponse,
  readSignTxnRequest,
  type SignTxnRequest,
} from '../../protocol/commands/index.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';
import {
  ZERO_HASH,
  checkChainLink,
  decodeTxnRecord,
  recordAnswersRequest,
  verifyTxnRecord,
  type SignedTxnRecord,
} from '../../protocol/record/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import type { CardCommands, CommandOutcome } from '../../device-sim/card/card-commands.js';
import { readPurse, type Purse } from '../../device-sim/card/card-state.js';
import { MemoryBacking, Nvm, PowerLoss } from '../../device-sim/card/nvm.js';
import { TestIssuer, ascii } from '../support/issuer.js';
import { Prng } from '../support/prng.js';
import { fuzzSeed, FUZZ_ROUNDS, hexSeed, explain } from '../support/fuzz.js';

const SEED = fuzzSeed(0xca_4d01);
const ROUNDS = FUZZ_ROUNDS;

const PIN = ascii('1234');
const PUK = ascii('12345678');
const LOADED = 100_000;
const TOPUP = 50_000;
const INTERNAL_ERROR_STATUS = 0x7f;

// ---------------------------------------------------------------- the checked card

interface Observed {
  command: number;
  params: CborMap | undefined;
  outcome: CommandOutcome;
}

/** A card applet whose every answer is checked, with the signs it made recorded. */
class CheckedCard {
  readonly applet: CardApplet;
  /** New records, in order, as observed at the moment they were signed. */
  readonly signed: SignedTxnRecord[] = [];
  /** Records seen in complete 9000 answers to unchained SIGN_TXN commands. */
  readonly answered = new Map<number, Uint8Array>();
  readonly statusWords = new Map<number, number>();
  /** `command:status` of every CBOR command the card ran, e.g. '3:0' for a successful SIGN_TXN. */
  readonly cborStatuses = new Map<string, number>();
  transmits = 0;
  /** Set while the test itself personalises and loads the card through the client. */
  setup = false;
  /** Set while the test sends a genuine top-up of this amount. */
  expectLoad: number | undefined;
  /** Total of the top-ups observed outside setup. */
  loaded = 0;
  private lastRun: Observed | undefined;
  private internal: unknown[] = [];

  constructor(journalCapacity: number) {
    this.applet = new CardApplet(new Nvm(new MemoryBacking()), { journalCapacity, extendedLength: true });
    this.applet.powerOn();
    // observe-only spies on private parts
    const inner = this.applet as unknown as { commands: CardCommands; process(apdu: Uint8Array): Uint8Array };
    const commands = inner.commands;
    const run = commands.run.bind(commands);
    commands.run = (command, params, lifecycle) => {
      const outcome = run(command, params, lifecycle);
      this.lastRun = { command, params, outcome };
      const k = `${command}:${outcome.status}`;
      this.cborStatuses.set(k, (this.cborStatuses.get(k) ?? 0) + 1);
      return outcome;
    };
    const refusal = commands.refusal.bind(commands);
    commands.refusal = (e: unknown) => {
      if (!(e instanceof DecodeError)) this.internal.push(e);
      return refusal(e);
    };
    const process = inner.process.bind(this.applet);
    inner.process = (apdu: Uint8Array) => {
      try {
        return process(apdu);
      } catch (e) {
        if (!(e instanceof PowerLoss)) this.internal.push(e);
        throw e;
      }
    };
  }

  client(): CardClient {
    return new CardClient({ extendedLength: true, transmit: async (a) => this.transmit(a, 'client') });
  }

  purse(): Purse {
    return readPurse(this.applet.nvm);
  }

  /** What the last CardCommands.run call saw and answered (set by the spy). */
  private observed(): Observed | undefined {
    return this.lastRun;
  }

  transmit(apdu: Uint8Array, what: string): Uint8Array {
    this.transmits++;
    const ctx = `${what}: APDU ${toHex(apdu)}`;
    const before = this.purse();
    this.lastRun = undefined;
    this.internal = [];
    let rsp: Uint8Array;
    try {
      rsp = this.applet.transmit(apdu);
    } catch (e) {
      return assert.fail(`transmit threw for ${ctx}: ${explain(e)}`);
    }
    assert.ok(rsp instanceof Uint8Array && rsp.length >= 2, `${ctx}: answer of ${rsp.length} bytes has no status word`);
    const { data, sw } = decodeResponseApdu(rsp);
    this.statusWords.set(sw, (this.statusWords.get(sw) ?? 0) + 1);
    const internal = this.internal.map(explain).join('\n---\n');
    assert.ok(
      this.internal.length === 0 && sw !== 0x6f00,
      `${ctx}: internal exception (SW ${sw.toString(16)}): ${internal || 'none recorded'}`,
    );
    const sw1 = sw >> 8;
    assert.ok((sw1 >= 0x61 && sw1 <= 0x6f) || sw1 === 0x90, `${ctx}: ${sw.toString(16)} is not a status word`);
    assert.notEqual(this.observed()?.outcome.status, INTERNAL_ERROR_STATUS, `${ctx}: CBOR status INTERNAL_ERROR`);

    // Le is respected (GET RESPONSE without Le gets up to 256 bytes, as the applet documents)
    let cmd: (CommandApdu & { form: LengthEncoding }) | undefined;
    try {
      cmd = decodeCommandApdu(apdu);
    } catch {
      cmd = undefined;
    }
    if (cmd) {
      const room = cmd.le ?? (cmd.ins === 0xc0 ? 256 : 0);
      assert.ok(data.length <= room, `${ctx}: ${data.length} data bytes for Le ${cmd.le}`);
    } else {
      assert.equal(sw, 0x6700, `${ctx}: a malformed APDU gets 6700`);
    }

    // the purse moves only by a sign, and a sign answers exactly its request; the balance grows only by the test's own top-ups
    const after = this.purse();
    if (this.setup) return rsp;
    const run = this.observed();
    if (after.loadCounter !== before.loadCounter) {
      assert.ok(this.expectLoad !== undefined, `${ctx}: a LOAD succeeded that the test did not send unchanged`);
      assert.ok(
        run !== undefined && run.command === CMD.LOAD && run.outcome.status === 0,
        `${ctx}: load counter moved without a successful LOAD`,
      );
      assert.equal(after.loadCounter, before.loadCounter + 1, `${ctx}: load counter step`);
      assert.equal(after.balance, before.balance + this.expectLoad, `${ctx}: loaded amount`);
      assert.equal(after.counter, before.counter, `${ctx}: a LOAD moved the transaction counter`);
      this.loaded += this.expectLoad;
    } else if (after.counter !== before.counter) {
      assert.equal(after.counter, before.counter + 1, `${ctx}: counter jumped ${before.counter} → ${after.counter}`);
      assert.ok(
        run !== undefined && run.command === CMD.SIGN_TXN && run.outcome.status === 0,
        `${ctx}: counter moved without a successful SIGN_TXN`,
      );
      const q = readSignTxnRequest(run.params ?? new Map()); // the card parsed it, so must we
      const rec = decodeTxnRecord(readRecordResponse(run.outcome.result ?? new Map()));
      assert.equal(recordAnswersRequest(rec, q), undefined, `${ctx}: the record does not answer the request`);
      assert.equal(rec.counter, after.counter, `${ctx}: record counter`);
      assert.equal(rec.balanceAfter, after.balance, `${ctx}: record balance`);
      assert.equal(before.balance - q.amount, after.balance, `${ctx}: balance moved by another amount than the sale`);
      assert.ok(
        bytesEqual(rec.prevHash, before.lastHash) && bytesEqual(rec.hash, after.lastHash),
        `${ctx}: hash chain`,
      );
      this.signed.push(rec);
    } else {
      assert.equal(after.balance, before.balance, `${ctx}: balance changed without a sign or a load`);
      assert.ok(bytesEqual(after.lastHash, before.lastHash), `${ctx}: lastHash changed without a sign`);
    }

    // what a host sees: a complete answer to an unchained SIGN_TXN
    if (
      cmd &&
      cmd.ins === 0x10 &&
      (cmd.cla & CLA_CHAINING_BIT) === 0 &&
      cmd.data?.[0] === CMD.SIGN_TXN &&
      sw === 0x9000 &&
      data[0] === 0
    ) {
      try {
        const rec = decodeTxnRecord(readRecordResponse(decodeCanonical(data.subarray(1))));
        this.answered.set(rec.counter, rec.envelope);
      } catch (e) {
        assert.fail(`${ctx}: a successful SIGN_TXN answer does not hold a record: ${explain(e)}`);
      }
    }
    return rsp;
  }
}

// ---------------------------------------------------------------- APDU generators

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

interface StormState {
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
function loadCommand(issuer: TestIssuer, cardId: Uint8Array, loadSeq: number): Uint8Array {
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
function nextStep(s: StormState): { what: string; apdus: Uint8Array[] } {
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
function maintenance(): Uint8Array[] {
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

// ---------------------------------------------------------------- tests

describe(`fuzz: card applet APDU storm (seed ${hexSeed(SEED)})`, function () {
  this.timeout(60_000);
  const issuer = new TestIssuer();

  it(`an active card with a balance: never throws, never 6F00, purse invariants hold (seed ${hexSeed(SEED)})`, async () => {
    const rng = new Prng(SEED);
    const card = new CheckedCard(256);
    const cardId = rng.bytes(8);
    const client = card.client();
    card.setup = true;
    const cert = await issuer.issue(client, { cardId });
    await client.load({ token: issuer.topup(cardId, 1, LOADED).envelope, authority: issuer.authority.envelope });
    card.setup = false;
    assert.equal(card.purse().balance, LOADED, 'loaded');
    const state: StormState = { rng, issuer, cardId, genuineLoad: loadCommand(issuer, cardId, 2), lastSale: undefined };

    const steps = 4_000 * ROUNDS;
    let apdus = 0;
    let loads = 0;
    const lifecycles = new Set<number>();
    for (let step = 0; step < steps; step++) {
      if (step % 16 === 15) for (const a of maintenance()) card.transmit(a, `step ${step} maintenance`);
      if (step % 250 === 249 && card.purse().balance < TOPUP) {
        // a genuine top-up that keeps the offline totals (so the offline limits get reached too)
        card.expectLoad = TOPUP;
        card.transmit(
          encodeCommandApdu({ cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: state.genuineLoad, le: 256 }),
          `step ${step} top-up`,
        );
        card.expectLoad = undefined;
        loads++;
        state.genuineLoad = loadCommand(issuer, cardId, 2 + loads);
      }
      const { what, apdus: list } = nextStep(state);
      for (const a of list) {
        card.transmit(a, `step ${step} (${what}, seed ${hexSeed(SEED)})`);
        apdus++;
      }
      lifecycles.add(card.applet.lifecycle());
    }

    // the storm reached the interesting states
    const sw = card.statusWords;
    const seen = (code: number) => sw.get(code) ?? 0;
    assert.ok(card.signed.length >= 10, `only ${card.signed.length} sales were signed`);
    assert.ok(
      seen(0x9000) > 500 && seen(0x6700) > 50 && seen(0x6a80) > 20,
      `status words: ${JSON.stringify([...sw].map(([k, v]) => [k.toString(16), v]))}`,
    );
    assert.ok(
      [...sw.keys()].some((k) => k >> 8 === 0x61) && [...sw.keys()].some((k) => (k & 0xfff0) === 0x63c0),
      'no 61xx or 63Cx seen',
    );

    // invariants, through the card's own interface
    const host = card.client();
    await host.select();
    const info = await host.getInfo();
    const journal = await host.readJournalFrom(1);
    const records = journal.records.map((r) => decodeTxnRecord(r));
    assert.equal(info.counter, records.length, `counter ${info.counter} but ${records.length} journal records`);
    assert.equal(info.counter, card.signed.length, `counter ${info.counter} but ${card.signed.length} signs observed`);
    const spent = records.reduce((n, r) => n + r.amount, 0);
    const total = LOADED + card.loaded;
    assert.equal(card.loaded, loads * TOPUP, 'every genuine top-up went through, and nothing else');
    assert.equal(
      info.balance + spent,
      total,
      `balance ${info.balance} + spent ${spent} is not the loaded total ${total}`,
    );
    assert.equal(info.loadCounter, 1 + loads, 'no LOAD but the genuine ones succeeded');
    assert.equal(info.offlineCount, records.length, 'offline count');
    assert.equal(info.offlineAmount, spent, 'offline amount');
    let prev: SignedTxnRecord | undefined;
    let balance = LOADED;
    let toppedUp = 0; // top-ups land between records: each gap in the balances must be whole top-ups
    for (const [i, r] of records.entries()) {
      const link = checkChainLink(prev, r);
      assert.ok(link.ok, `record ${i + 1}: ${link.ok ? '' : `${link.reason}: ${link.detail}`}`);
      assert.equal(r.counter, i + 1, `record ${i + 1} counter`);
      const gap = r.balanceAfter - (balance - r.amount);
      assert.ok(
        gap >= 0 && gap % TOPUP === 0,
        `record ${i + 1}: balanceAfter ${r.balanceAfter} after ${balance} − ${r.amount}`,
      );
      toppedUp += gap / TOPUP;
      balance = r.balanceAfter;
      assert.ok(verifyTxnRecord(r, cert.publicKey), `record ${i + 1} does not verify under the card certificate`);
      assert.ok(bytesEqual(r.envelope, card.signed[i]!.envelope), `record ${i + 1} differs from the one signed`);
      prev = r;
    }
    assert.ok(
      bytesEqual(info.lastRecordHash, prev ? prev.hash : ZERO_HASH),
      'lastRecordHash is the hash of the last record',
    );
    assert.equal(toppedUp + (info.balance - balance) / TOPUP, loads, "the records' balances account for every top-up");
    for (const [counter, env] of card.answered) {
      assert.ok(
        bytesEqual(journal.records[counter - 1] ?? new Uint8Array(0), env),
        `record ${counter} handed to the host is not in the journal`,
      );
    }
    assert.ok(card.answered.size > 0, 'no complete SIGN_TXN answer was seen');
    assert.ok(apdus >= steps, `${apdus} APDUs sent`);
    assert.ok(
      lifecycles.has(LIFECYCLE.ACTIVE) && info.lifecycle !== LIFECYCLE.BLANK,
      `lifecycles seen ${[...lifecycles].join(', ')}, final ${info.lifecycle}`,
    );
  });

  it(`a blank card under personalisation attempts: never throws, never 6F00, stays blank, then personalises normally (seed ${hexSeed(SEED + 1)})`, async () => {
    const rng = new Prng(SEED + 1);
    const card = new CheckedCard(32);
    const cardId = rng.bytes(8);
    const genuineLoad = encodeCommandData(
      CMD.LOAD,
      encodeLoadRequest({ token: issuer.topup(cardId, 1, 5000).envelope, authority: issuer.authority.envelope }),
    );
    const state: StormState = { rng, issuer, cardId, genuineLoad, lastSale: undefined };
    // a pending personalisation to aim the COMMIT mutations at
    const select = encodeCommandApdu({ cla: 0, ins: 0xa4, p1: 4, p2: 0, data: CARD_AID, le: 256 });
    card.transmit(select, 'SELECT');
    const begin = encodeCommandData(
      CMD.PERSONALIZE_BEGIN,
      encodePersonalizeBeginRequest({ cardId, algorithm: 1, issuer: issuer.certificate.envelope }),
    );
    card.transmit(encodeCommandApdu({ cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: begin, le: 256 }), 'PERSONALIZE_BEGIN');
    const steps = 1_500 * ROUNDS;
    for (let step = 0; step < steps; step++) {
      if (step % 50 === 0) card.transmit(select, 'SELECT');
      const { what, apdus } = nextStep(state);
      for (const a of apdus) card.transmit(a, `step ${step} (${what}, seed ${hexSeed(SEED + 1)})`);
    }
    assert.equal(
      card.applet.lifecycle(),
      LIFECYCLE.BLANK,
      'the card left the blank state without a valid authorisation',
    );
    assert.equal(card.signed.length, 0, 'a blank card signed');
    const client = card.client();
    card.setup = true;
    await issuer.issue(client, { cardId });
    await client.load({ token: issuer.topup(cardId, 1, 5000).envelope, authority: issuer.authority.envelope });
    card.setup = false;
    const info = await client.getInfo();
    assert.equal(info.lifecycle, LIFECYCLE.ACTIVE, 'personalised after the storm');
    assert.equal(info.balance, 5000, 'loaded after the storm');
  });
});
