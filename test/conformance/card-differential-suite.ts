import assert from 'node:assert/strict';
import { decodeCommandApdu, decodeResponseApdu, encodeCommandApdu } from '../../protocol/apdu/index.js';
import { bytesEqual, toHex } from '../../protocol/bytes.js';
import { CardClient, type CardInfo } from '../../protocol/commands/index.js';
import { decodeTxnRecord, verifyTxnRecord, type SignedTxnRecord } from '../../protocol/record/index.js';
import { cardImpl, type CardImpl, type CardUnderTest } from './card-impls.js';
import { LOADED, TOPUP, loadCommand, maintenance, nextStep, type StormState } from '../fuzz/card-storm.js';
import { fuzzSeed, FUZZ_ROUNDS, hexSeed } from '../support/fuzz.js';
import { TestIssuer } from '../support/issuer.js';
import { Prng } from '../support/prng.js';
import { requireSystem } from '../support/system.js';

/**
 * Differential: the TypeScript applet and the C applet get the identical random APDU sequence (the
 * storm of test/fuzz/card-storm.ts: valid, mutated and garbage commands, chains, GET RESPONSE, PIN
 * tries, top-ups) and must give identical answers, status word and data, and identical NVM-visible
 * state (GET_INFO, READ_JOURNAL).
 *
 * What legitimately differs: each card generated its own key at personalisation, so its public key,
 * its certificate and every signature it makes are its own (SM2 signatures are randomised as well).
 * Those bytes, and nothing else, are masked before comparing; record bodies (amounts, counters,
 * hashes of the chain, the host's nonce) compare byte for byte, and every signature of each card
 * is verified under that card's own key.
 */
const SEED = fuzzSeed(0xd1ff_0001);
const CBOR_INS = 0x10;

interface Side {
  name: CardImpl;
  cut: CardUnderTest;
  client: CardClient;
  publicKey: Uint8Array;
  /** Byte strings that are this card's own: its public key, its certificate, its signatures. */
  own: Uint8Array[];
}

const clientOf = (cut: CardUnderTest) =>
  new CardClient({ extendedLength: true, transmit: async (a) => cut.card.transmit(a) });

/** A fresh session on a copy of the card: GET_INFO and, when asked, the journal from `from`. */
async function peek(cut: CardUnderTest, from?: number): Promise<{ info: CardInfo; records: SignedTxnRecord[] }> {
  const copy = cut.clone();
  try {
    copy.card.powerOn();
    const c = clientOf(copy);
    await c.select();
    const info = await c.getInfo();
    if (from === undefined || from > info.counter) return { info, records: [] };
    return { info, records: (await c.readJournalFrom(from)).records.map((r) => decodeTxnRecord(r)) };
  } finally {
    copy.close();
  }
}

/** data with every occurrence of the card's own byte strings zeroed, also where a chunk cuts one. */
function masked(data: Uint8Array, own: Uint8Array[]): string {
  const out = Uint8Array.from(data);
  const text = Buffer.from(data);
  for (const t of own) {
    for (let at = text.indexOf(t); at >= 0; at = text.indexOf(t, at + 1)) out.fill(0, at, at + t.length);
    // a response split by GET RESPONSE may hold only the tail or the head of one
    for (let n = t.length - 1; n >= 8; n--) {
      if (n <= data.length && bytesEqual(data.subarray(0, n), t.subarray(t.length - n))) out.fill(0, 0, n);
      if (n <= data.length && bytesEqual(data.subarray(data.length - n), t.subarray(0, n)))
        out.fill(0, data.length - n, data.length);
    }
  }
  return toHex(out);
}

/** GET_INFO without what is each card's own. */
function comparableInfo(i: CardInfo) {
  const { publicKey: _p, certificate: _c, ...rest } = i;
  return { ...rest, lastRecordHash: toHex(rest.lastRecordHash), cardId: rest.cardId && toHex(rest.cardId) };
}

async function compareState(a: Side, b: Side, where: string): Promise<void> {
  const [pa, pb] = await Promise.all([peek(a.cut, 1), peek(b.cut, 1)]);
  assert.deepEqual(comparableInfo(pb.info), comparableInfo(pa.info), `${where}: GET_INFO differs`);
  assert.equal(pb.records.length, pa.records.length, `${where}: journal lengths`);
  for (const [i, ra] of pa.records.entries()) {
    const rb = pb.records[i]!;
    assert.equal(toHex(rb.body), toHex(ra.body), `${where}: journal record ${ra.counter} body differs`);
    assert.ok(verifyTxnRecord(ra, a.publicKey), `${where}: ${a.name} record ${ra.counter} does not verify`);
    assert.ok(verifyTxnRecord(rb, b.publicKey), `${where}: ${b.name} record ${rb.counter} does not verify`);
  }
}

/**
 * The TypeScript applet and another implementation of the card (card-impls.ts) fed one random APDU
 * sequence: every answer and the NVM-visible state must be identical but for each card's own key and
 * signatures. `steps` random steps (times FUZZ_ROUNDS).
 */
export function differentialSuite(impl: Exclude<CardImpl, 'ts'>, label: string, baseSteps: number): void {
  const STEPS = baseSteps * FUZZ_ROUNDS;
  describe(`differential: TypeScript applet vs ${label} on one random APDU sequence (seed ${hexSeed(SEED)})`, function () {
    this.timeout(600_000);
    const opened: CardUnderTest[] = [];
    after(() => opened.splice(0).forEach((c) => c.close()));

    it(`answers and NVM-visible state are identical but for each card's own key and signatures (${STEPS} steps)`, async function () {
      const other = await cardImpl(impl);
      const why = other.unavailable();
      if (why) requireSystem(this, [why], `the ${impl} card (docs/firmware.md)`);
      const ts = await cardImpl('ts');
      const issuer = new TestIssuer();
      const rng = new Prng(SEED);
      const cardId = rng.bytes(8);
      const sides: Side[] = [];
      for (const f of [ts, other]) {
        const cut = f.open({ journalCapacity: 64, extendedLength: true });
        opened.push(cut);
        cut.card.powerOn();
        const client = clientOf(cut);
        const cert = await issuer.issue(client, { cardId });
        await client.load({ token: issuer.topup(cardId, 1, LOADED).envelope, authority: issuer.authority.envelope });
        const info = await client.getInfo();
        sides.push({ name: f.impl, cut, client, publicKey: cert.publicKey, own: [info.publicKey!, info.certificate!] });
      }
      const [a, b] = sides as [Side, Side];
      await compareState(a, b, 'after personalisation');

      const state: StormState = {
        rng,
        issuer,
        cardId,
        genuineLoad: loadCommand(issuer, cardId, 2),
        lastSale: undefined,
      };
      let counter = 0;
      let loads = 0;
      let compared = 0;
      const send = async (apdu: Uint8Array, what: string) => {
        const ra = a.cut.card.transmit(apdu);
        const rb = b.cut.card.transmit(apdu);
        const ctx = `${what}: APDU ${toHex(apdu)}`;
        const x = decodeResponseApdu(ra);
        const y = decodeResponseApdu(rb);
        assert.equal(
          y.sw.toString(16),
          x.sw.toString(16),
          `${ctx}: status words differ (ts ${toHex(ra)}, C ${toHex(rb)})`,
        );
        let isCbor = false;
        try {
          isCbor = decodeCommandApdu(apdu).ins === CBOR_INS;
        } catch {
          /* not an APDU: both said 6700 */
        }
        if (isCbor) {
          // a new record on either card: its body must be the same, each signature its card's own
          const [pa, pb] = await Promise.all([peek(a.cut), peek(b.cut)]);
          assert.equal(pb.info.counter, pa.info.counter, `${ctx}: counters differ`);
          if (pa.info.counter !== counter) {
            counter = pa.info.counter;
            const la = (await peek(a.cut, counter)).records[0];
            const lb = (await peek(b.cut, counter)).records[0];
            assert.ok(la && lb, `${ctx}: record ${counter} missing`);
            assert.equal(toHex(lb.body), toHex(la.body), `${ctx}: record ${counter} bodies differ`);
            assert.ok(
              verifyTxnRecord(la, a.publicKey) && verifyTxnRecord(lb, b.publicKey),
              `${ctx}: a signature fails`,
            );
            a.own.push(la.signature);
            b.own.push(lb.signature);
          }
        }
        assert.equal(y.data.length, x.data.length, `${ctx}: data lengths differ (ts ${toHex(ra)}, C ${toHex(rb)})`);
        assert.equal(
          masked(y.data, b.own),
          masked(x.data, a.own),
          `${ctx}: data differs (ts ${toHex(ra)}, C ${toHex(rb)})`,
        );
        compared++;
      };

      for (let step = 0; step < STEPS; step++) {
        if (step % 16 === 15) for (const m of maintenance()) await send(m, `step ${step} maintenance`);
        if (step % 250 === 249) {
          await compareState(a, b, `step ${step}`);
          if ((await peek(a.cut)).info.balance < TOPUP) {
            await send(
              encodeCommandApdu({ cla: 0x80, ins: CBOR_INS, p1: 0, p2: 0, data: state.genuineLoad, le: 256 }),
              `step ${step} top-up`,
            );
            loads++;
            state.genuineLoad = loadCommand(issuer, cardId, 2 + loads);
          }
        }
        const { what, apdus } = nextStep(state);
        for (const x of apdus) await send(x, `step ${step} (${what}, seed ${hexSeed(SEED)})`);
      }
      await compareState(a, b, 'at the end');
      assert.ok(counter >= 10, `only ${counter} records were signed: the sequence did not reach the purse`);
      assert.ok(compared >= STEPS, `${compared} APDUs compared`);
    });
  });
}
