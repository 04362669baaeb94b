/**
 * The APDU storm (card-storm.ts) against any card implementation (test/conformance/card-impls.ts),
 * seen from outside only: the TypeScript storm (card-applet.test.ts) watches the applet's internals,
 * a C card has none to watch. What replaces them:
 *  - every answer: no exception, a status word (SW1 61..6F or 90), never 6F00, never the CBOR status
 *    INTERNAL_ERROR, no more data than Le allows, 6700 for an APDU that does not parse;
 *  - after every CBOR command, a copy of the card (clone(): its NVM as it is now) is asked GET_INFO
 *    and READ_JOURNAL: the purse moved only by one SIGN_TXN record that answers a request the storm
 *    sent, continuing the chain, or by a genuine top-up, or not at all;
 *  - at the end, through the card itself: counter == signs seen, the hash chain intact over the
 *    journal, every record verifies under the certificate's key, every record a host got is in it.
 */
import assert from 'node:assert/strict';
import {
  CLA_CHAINING_BIT,
  decodeCommandApdu,
  decodeResponseApdu,
  encodeCommandApdu,
  type CommandApdu,
} from '../../protocol/apdu/index.js';
import { bytesEqual, toHex } from '../../protocol/bytes.js';
import { decodeCanonical } from '../../protocol/cbor/index.js';
import {
  CMD,
  CardClient,
  LIFECYCLE,
  decodeResponseData,
  readRecordResponse,
  readSignTxnRequest,
  type CardInfo,
  type SignTxnRequest,
} from '../../protocol/commands/index.js';
import {
  ZERO_HASH,
  checkChainLink,
  decodeTxnRecord,
  recordAnswersRequest,
  verifyTxnRecord,
  type SignedTxnRecord,
} from '../../protocol/record/index.js';
import type { CardUnderTest } from '../conformance/card-impls.js';
import { explain } from '../support/fuzz.js';
import { TestIssuer } from '../support/issuer.js';
import { Prng } from '../support/prng.js';
import { LOADED, TOPUP, loadCommand, maintenance, nextStep, type StormState } from './card-storm.js';

const INTERNAL_ERROR_STATUS = 0x7f;
const CBOR_INS = 0x10;

type Purse = Pick<CardInfo, 'counter' | 'balance' | 'loadCounter' | 'lastRecordHash' | 'lifecycle'>;

const clientOf = (cut: CardUnderTest) =>
  new CardClient({ extendedLength: true, transmit: async (a) => cut.card.transmit(a) });

/** The purse of a copy of the card: its NVM now, seen through a fresh session. */
async function peekPurse(cut: CardUnderTest): Promise<{ purse: Purse; last?: SignedTxnRecord }> {
  const copy = cut.clone();
  try {
    copy.card.powerOn();
    const c = clientOf(copy);
    await c.select();
    const i = await c.getInfo();
    const purse = {
      counter: i.counter,
      balance: i.balance,
      loadCounter: i.loadCounter,
      lastRecordHash: i.lastRecordHash,
      lifecycle: i.lifecycle,
    };
    if (i.counter === 0) return { purse };
    const page = await c.readJournal(i.counter, 1);
    return { purse, last: decodeTxnRecord(page.records[0]!) };
  } finally {
    copy.close();
  }
}

export class BlackBoxCard {
  readonly statusWords = new Map<number, number>();
  /** Records seen in complete 9000 answers to unchained SIGN_TXN commands. */
  readonly answered = new Map<number, Uint8Array>();
  /** Every record the purse checks saw appear, in order. */
  readonly signed: SignedTxnRecord[] = [];
  /** Every SIGN_TXN request the storm sent (whole or chained) that parses. */
  private readonly requests: SignTxnRequest[] = [];
  private chain: number[] = [];
  loaded = 0;
  expectLoad: number | undefined;
  setup = false;
  private purse: Purse | undefined;

  constructor(readonly cut: CardUnderTest) {}

  client(): CardClient {
    return new CardClient({ extendedLength: true, transmit: async (a) => this.transmit(a, 'client') });
  }

  async start(): Promise<void> {
    this.purse = (await peekPurse(this.cut)).purse;
  }

  async transmit(apdu: Uint8Array, what: string): Promise<Uint8Array> {
    const ctx = `${what}: APDU ${toHex(apdu)}`;
    let rsp: Uint8Array;
    try {
      rsp = this.cut.card.transmit(apdu);
    } catch (e) {
      return assert.fail(`transmit threw for ${ctx}: ${explain(e)}`);
    }
    assert.ok(rsp.length >= 2, `${ctx}: answer of ${rsp.length} bytes has no status word`);
    const { data, sw } = decodeResponseApdu(rsp);
    this.statusWords.set(sw, (this.statusWords.get(sw) ?? 0) + 1);
    assert.notEqual(sw, 0x6f00, `${ctx}: 6F00 (an internal error)`);
    const sw1 = sw >> 8;
    assert.ok((sw1 >= 0x61 && sw1 <= 0x6f) || sw1 === 0x90, `${ctx}: ${sw.toString(16)} is not a status word`);

    let cmd: CommandApdu | undefined;
    try {
      cmd = decodeCommandApdu(apdu);
    } catch {
      cmd = undefined;
    }
    if (!cmd) {
      assert.equal(sw, 0x6700, `${ctx}: a malformed APDU gets 6700`);
      return rsp;
    }
    const room = cmd.le ?? (cmd.ins === 0xc0 ? 256 : 0);
    assert.ok(data.length <= room, `${ctx}: ${data.length} data bytes for Le ${cmd.le}`);
    if (cmd.ins !== CBOR_INS) {
      if (cmd.ins !== 0xc0) this.chain = [];
      return rsp;
    }

    // the whole command||CBOR, when this APDU ends a chain or is unchained
    const chained = (cmd.cla & CLA_CHAINING_BIT) !== 0;
    this.chain.push(...(cmd.data ?? []));
    const whole = chained ? undefined : Uint8Array.from(this.chain);
    if (!chained) this.chain = [];
    if (whole && whole[0] === CMD.SIGN_TXN) {
      try {
        this.requests.push(readSignTxnRequest(decodeCanonical(whole.subarray(1))));
      } catch {
        /* a damaged request: the card must refuse it, which the purse check sees */
      }
    }
    if (sw === 0x9000 && data.length > 0 && whole) {
      assert.notEqual(data[0], INTERNAL_ERROR_STATUS, `${ctx}: CBOR status INTERNAL_ERROR`);
      if (whole[0] === CMD.SIGN_TXN && data[0] === 0 && !chained && (cmd.cla & CLA_CHAINING_BIT) === 0) {
        try {
          const rec = decodeTxnRecord(readRecordResponse(decodeResponseData(data).result ?? new Map()));
          this.answered.set(rec.counter, rec.envelope);
        } catch (e) {
          assert.fail(`${ctx}: a successful SIGN_TXN answer does not hold a record: ${explain(e)}`);
        }
      }
    }
    await this.checkPurse(ctx);
    return rsp;
  }

  /** The purse moves only by one answered SIGN_TXN or a genuine top-up. */
  private async checkPurse(ctx: string): Promise<void> {
    const before = this.purse!;
    const { purse: after, last } = await peekPurse(this.cut);
    this.purse = after;
    if (this.setup) return;
    if (after.loadCounter !== before.loadCounter) {
      assert.ok(this.expectLoad !== undefined, `${ctx}: a LOAD succeeded that the test did not send unchanged`);
      assert.equal(after.loadCounter, before.loadCounter + 1, `${ctx}: load counter step`);
      assert.equal(after.balance, before.balance + this.expectLoad, `${ctx}: loaded amount`);
      assert.equal(after.counter, before.counter, `${ctx}: a LOAD moved the transaction counter`);
      this.loaded += this.expectLoad;
    } else if (after.counter !== before.counter) {
      assert.equal(after.counter, before.counter + 1, `${ctx}: counter jumped ${before.counter} → ${after.counter}`);
      assert.ok(last, `${ctx}: no record for counter ${after.counter}`);
      const q = this.requests.find((r) => recordAnswersRequest(last, r) === undefined);
      assert.ok(q, `${ctx}: record ${after.counter} answers no SIGN_TXN request the storm sent`);
      assert.equal(last.counter, after.counter, `${ctx}: record counter`);
      assert.equal(last.balanceAfter, after.balance, `${ctx}: record balance`);
      assert.equal(before.balance - q.amount, after.balance, `${ctx}: balance moved by another amount than the sale`);
      assert.ok(
        bytesEqual(last.prevHash, before.lastRecordHash) && bytesEqual(last.hash, after.lastRecordHash),
        `${ctx}: hash chain`,
      );
      this.signed.push(last);
    } else {
      assert.equal(after.balance, before.balance, `${ctx}: balance changed without a sign or a load`);
      assert.ok(bytesEqual(after.lastRecordHash, before.lastRecordHash), `${ctx}: lastHash changed without a sign`);
    }
  }
}

/** The active-card storm of card-applet.test.ts, black-box. Returns the card for extra checks. */
export async function blackBoxActiveStorm(cut: CardUnderTest, seed: number, steps: number): Promise<BlackBoxCard> {
  const issuer = new TestIssuer();
  const rng = new Prng(seed);
  const card = new BlackBoxCard(cut);
  cut.card.powerOn();
  await card.start();
  const cardId = rng.bytes(8);
  const client = card.client();
  card.setup = true;
  const cert = await issuer.issue(client, { cardId });
  await client.load({ token: issuer.topup(cardId, 1, LOADED).envelope, authority: issuer.authority.envelope });
  card.setup = false;
  const state: StormState = { rng, issuer, cardId, genuineLoad: loadCommand(issuer, cardId, 2), lastSale: undefined };
  let loads = 0;
  const lifecycles = new Set<number>();
  for (let step = 0; step < steps; step++) {
    if (step % 16 === 15) for (const a of maintenance()) await card.transmit(a, `step ${step} maintenance`);
    if (step % 250 === 249) {
      // a genuine top-up that keeps the offline totals, when the balance runs low
      const { purse } = await peekPurse(cut);
      lifecycles.add(purse.lifecycle);
      if (purse.balance < TOPUP) {
        card.expectLoad = TOPUP;
        await card.transmit(
          encodeCommandApdu({ cla: 0x80, ins: CBOR_INS, p1: 0, p2: 0, data: state.genuineLoad, le: 256 }),
          `step ${step} top-up`,
        );
        card.expectLoad = undefined;
        loads++;
        state.genuineLoad = loadCommand(issuer, cardId, 2 + loads);
      }
    }
    const { what, apdus } = nextStep(state);
    for (const a of apdus) await card.transmit(a, `step ${step} (${what}, seed 0x${seed.toString(16)})`);
  }

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

  const host = clientOf(cut);
  await host.select();
  const info = await host.getInfo();
  assert.equal(info.counter, card.signed.length, `counter ${info.counter} but ${card.signed.length} signs observed`);
  assert.equal(card.loaded, loads * TOPUP, 'every genuine top-up went through, and nothing else');
  assert.equal(info.loadCounter, 1 + loads, 'no LOAD but the genuine ones succeeded');
  const journal = await host.readJournalFrom(Math.max(1, info.counter - info.journalCapacity + 1));
  const records = journal.records.map((r) => decodeTxnRecord(r));
  const kept = Math.min(info.counter, info.journalCapacity);
  assert.equal(records.length, kept, `${records.length} journal records, ${kept} expected`);
  let prev: SignedTxnRecord | undefined = info.counter > kept ? card.signed[info.counter - kept - 1] : undefined;
  for (const r of records) {
    const link = checkChainLink(prev, r);
    assert.ok(link.ok, `record ${r.counter}: ${link.ok ? '' : `${link.reason}: ${link.detail}`}`);
    assert.ok(verifyTxnRecord(r, cert.publicKey), `record ${r.counter} does not verify under the card certificate`);
    assert.ok(
      bytesEqual(r.envelope, card.signed[r.counter - 1]!.envelope),
      `record ${r.counter} differs from the one signed`,
    );
    prev = r;
  }
  assert.ok(
    bytesEqual(info.lastRecordHash, prev ? prev.hash : ZERO_HASH),
    'lastRecordHash is the hash of the last record',
  );
  for (const [counter, env] of card.answered) {
    assert.ok(
      bytesEqual(card.signed[counter - 1]?.envelope ?? new Uint8Array(0), env),
      `record ${counter} handed to the host was not signed`,
    );
  }
  assert.ok(card.answered.size > 0, 'no complete SIGN_TXN answer was seen');
  assert.ok(lifecycles.has(LIFECYCLE.ACTIVE), `lifecycles seen ${[...lifecycles].join(', ')}`);
  return card;
}
