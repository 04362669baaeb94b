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
import { decodeCanonical, type CborMap } from '../../protocol/cbor/index.js';
import {
  CARD_AID,
  CMD,
  CardClient,
  LIFECYCLE,
  encodeCommandData,
  encodeLoadRequest,
  encodePersonalizeBeginRequest,
  readRecordResponse,
  readSignTxnRequest,
} from '../../protocol/commands/index.js';
import { DecodeError } from '../../protocol/errors.js';
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
import { TestIssuer } from '../support/issuer.js';
import { Prng } from '../support/prng.js';
import { fuzzSeed, FUZZ_ROUNDS, hexSeed, explain } from '../support/fuzz.js';
import { LOADED, TOPUP, loadCommand, maintenance, nextStep, type StormState } from './card-storm.js';

const SEED = fuzzSeed(0xca_4d01);
const ROUNDS = FUZZ_ROUNDS;

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
