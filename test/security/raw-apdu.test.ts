import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { encodeCommandApdu } from '../../protocol/apdu/index.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import {
  CARD_AID,
  CMD,
  CardClient,
  INS,
  PIN_REFERENCE,
  decodeResponseData,
  encodeChangePinRequest,
  encodeCommandData,
  encodePinBlock,
  encodeReadJournalRequest,
  encodeSignTxnRequest,
  encodeVerifyPinRequest,
  readCardInfo,
  type CardInfo,
} from '../../protocol/commands/index.js';
import type { CborMap } from '../../protocol/cbor/index.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { saleWhere } from '../support/sale-wait.js';

type ApduAnswer = { response: string; sw: string };
type ErrorBody = { error: { code: string; message: string } };

const hex = (b: Uint8Array) => toHex(b).toUpperCase();
const ascii = (s: string) => new TextEncoder().encode(s);
/** One of the card's CBOR commands as an APDU (docs/protocol.md §4); `cla` 0x90 makes it a chained part. */
const cbor = (command: number, params?: CborMap, cla = 0x80) =>
  hex(encodeCommandApdu({ cla, ins: INS.CBOR, p1: 0, p2: 0, data: encodeCommandData(command, params), le: 256 }));
const iso = (ins: number, data?: Uint8Array, p2 = PIN_REFERENCE) =>
  hex(encodeCommandApdu({ cla: 0x00, ins, p1: 0, p2, ...(data ? { data } : {}) }));

/**
 * Issue #12 hole 2 (high): after a PIN sale the card stayed selected with its PIN verified, and a
 * SIGN_TXN sent through POST /api/v1/readers/{name}/apdu was signed with cvm=1 for any amount. Now
 * the raw-APDU route sends only reads (host/session/raw-apdu-policy.ts) and every card session ends
 * with a re-SELECT, which clears the verified PIN (docs/protocol.md §2).
 */
describe('security: a PIN verified for one sale signs nothing else (issue #12 hole 2)', function () {
  this.timeout(60_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  const apduPath = () => `/api/v1/readers/${encodeURIComponent(f!.reader.name)}/apdu`;
  const send = (apdu: string, raw = false) =>
    f!.api<ApduAnswer & ErrorBody>('POST', apduPath(), { apdu, ...(raw ? { raw: true } : {}) });

  /** GET_INFO through the raw-APDU route (a read it still allows). */
  async function infoViaRoute(): Promise<CardInfo> {
    const r = await send(cbor(CMD.GET_INFO));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.sw, '9000');
    const res = fromHex(r.body.response);
    const { status, result } = decodeResponseData(res.subarray(0, -2));
    assert.equal(status, 0);
    return readCardInfo(result!);
  }

  /** A sale above the card's no-PIN limit (10 000), paid with the PIN: the card ends it with the PIN verified, unless cleared. */
  async function pinSale(amount = 25_000): Promise<SaleSnapshot> {
    const s = (await f!.api<SaleSnapshot>('POST', '/api/v1/sales', { amount })).body;
    await saleWhere(f!.daemon.engine, s.saleId, (x) => x.state === 'pin');
    assert.equal((await f!.api('POST', `/api/v1/sales/${s.saleId}/pin`, { pin: FIXTURE_PIN })).status, 202);
    const done = await f!.waitForSale(s.saleId);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    return done;
  }

  const signTxn = (amount: number) =>
    encodeSignTxnRequest({
      amount,
      currency: 156,
      merchantId: 'M-TEST',
      terminalId: 'T-TEST-01',
      time: Math.floor(Date.now() / 1000),
      hostNonce: Uint8Array.from(randomBytes(16)),
    });
  const storedRecords = () => f!.daemon.store.records({ afterSeq: 0, limit: 1000 }).length;

  it('after a PIN sale, SIGN_TXN through the raw-APDU route is refused 403 RAW_APDU_REFUSED (plain, raw: true, chained) and signs nothing', async () => {
    f = await DaemonFixture.start();
    await pinSale();
    const before = await infoViaRoute();
    const records = storedRecords();
    const sign = cbor(CMD.SIGN_TXN, signTxn(150_000));
    const data = encodeCommandData(CMD.SIGN_TXN, signTxn(150_000));
    const firstPart = hex(encodeCommandApdu({ cla: 0x90, ins: INS.CBOR, p1: 0, p2: 0, data: data.subarray(0, 8) }));
    const attempts: [string, string, boolean][] = [
      ['SIGN_TXN', sign, false],
      ['SIGN_TXN raw', sign, true],
      ['SIGN_TXN, first chained part', firstPart, false],
      ['SIGN_TXN, first chained part, raw', firstPart, true],
      ['SIGN_TXN with CLA 0x84', cbor(CMD.SIGN_TXN, signTxn(150_000), 0x84), false],
      ['SIGN_TXN with CLA 0x81', cbor(CMD.SIGN_TXN, signTxn(150_000), 0x81), true],
      ['SIGN_TXN with CLA 0x00', cbor(CMD.SIGN_TXN, signTxn(150_000), 0x00), false],
    ];
    for (const [what, apdu, raw] of attempts) {
      const r = await send(apdu, raw);
      assert.equal(r.status, 403, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'RAW_APDU_REFUSED', what);
    }
    const after = await infoViaRoute();
    assert.equal(after.counter, before.counter, "the card's counter did not move");
    assert.equal(after.balance, before.balance, "the card's balance did not move");
    assert.deepEqual(after.lastRecordHash, before.lastRecordHash);
    assert.equal(storedRecords(), records, 'no record was stored');
    // the next card session recovers nothing from the journal: the card signed nothing
    const inspected = await f.api<{ counter: number; recovered: string[] }>(
      'GET',
      `/api/v1/readers/${encodeURIComponent(f.reader.name)}/card`,
    );
    assert.equal(inspected.status, 200);
    assert.deepEqual(inspected.body.recovered, []);
    assert.equal(inspected.body.counter, before.counter);
    assert.equal(storedRecords(), records);
  });

  it('the PIN verified for a sale is cleared at its end: straight on the card after the daemon stopped, GET_INFO says not verified and SIGN_TXN needs the PIN', async () => {
    f = await DaemonFixture.start();
    await pinSale();
    // straight on the card, nothing sent in between by anyone: no SELECT of ours either
    await f.daemon.stop();
    const card = new CardClient(f.reader);
    const info = await card.getInfo();
    assert.equal(info.pinVerified, false, 'the card still holds the PIN verified for the finished sale');
    const counter = info.counter;
    await assert.rejects(
      card.signTxn({
        amount: 150_000,
        currency: 156,
        merchantId: 'M-TEST',
        terminalId: 'T-TEST-01',
        time: Math.floor(Date.now() / 1000),
        hostNonce: Uint8Array.from(randomBytes(16)),
      }),
      (e: Error & { code?: string }) => e.code === 'CARD_PIN_REQUIRED',
      'an amount above the no-PIN limit needs the PIN again',
    );
    assert.equal((await card.getInfo()).counter, counter);
    // the control: GET_INFO does report a verified PIN (so "false" above is the card's state, not a blind field)
    await card.select();
    await card.verifyPin(ascii(FIXTURE_PIN));
    assert.equal((await card.getInfo()).pinVerified, true);
  });

  it('GET_INFO through the raw-APDU route after a PIN sale reports the PIN not verified', async () => {
    f = await DaemonFixture.start();
    await pinSale();
    assert.equal((await infoViaRoute()).pinVerified, false);
  });

  it('ISO VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER, VERIFY_PIN, LOAD, PERSONALIZE, CHANGE_PIN, UNBLOCK_PIN, BLOCK_CARD are refused; SELECT, GET_INFO and READ_JOURNAL still work', async () => {
    f = await DaemonFixture.start();
    const before = await infoViaRoute();
    const records = storedRecords();
    const wrong = ascii('9999');
    const refused: [string, string][] = [
      ['ISO VERIFY (wrong PIN)', iso(INS.VERIFY, encodePinBlock(wrong))],
      ['ISO VERIFY (right PIN)', iso(INS.VERIFY, encodePinBlock(ascii(FIXTURE_PIN)))],
      ['ISO VERIFY (tries query)', iso(INS.VERIFY)],
      [
        'ISO CHANGE REFERENCE DATA',
        iso(INS.CHANGE_REFERENCE_DATA, Uint8Array.from([...encodePinBlock(wrong), ...encodePinBlock(ascii('4321'))])),
      ],
      [
        'ISO RESET RETRY COUNTER',
        iso(
          INS.RESET_RETRY_COUNTER,
          Uint8Array.from([...encodePinBlock(ascii('12345678')), ...encodePinBlock(ascii('4321'))]),
        ),
      ],
      ['VERIFY_PIN', cbor(CMD.VERIFY_PIN, encodeVerifyPinRequest(wrong))],
      ['LOAD', cbor(CMD.LOAD, new Map([[1, new Uint8Array(64)]]))],
      ['PERSONALIZE_BEGIN', cbor(CMD.PERSONALIZE_BEGIN, new Map([[1, new Uint8Array(8)]]))],
      ['PERSONALIZE_COMMIT', cbor(CMD.PERSONALIZE_COMMIT, new Map([[1, new Uint8Array(8)]]))],
      ['CHANGE_PIN', cbor(CMD.CHANGE_PIN, encodeChangePinRequest(wrong, ascii('4321')))],
      [
        'UNBLOCK_PIN',
        cbor(
          CMD.UNBLOCK_PIN,
          new Map([
            [1, ascii('12345678')],
            [2, ascii('4321')],
          ]),
        ),
      ],
      ['BLOCK_CARD', cbor(CMD.BLOCK_CARD, new Map([[1, new Uint8Array(64)]]))],
      ['an unknown CBOR command', cbor(0x7e)],
      ['a CBOR APDU without a command byte', '80100000'],
      ['GET_INFO as a chained part', cbor(CMD.GET_INFO, undefined, 0x90)],
      ['a proprietary INS', '80CA000000'],
    ];
    for (const [what, apdu] of refused) {
      for (const raw of [false, true]) {
        const r = await send(apdu, raw);
        assert.equal(r.status, 403, `${what}${raw ? ' (raw)' : ''}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'RAW_APDU_REFUSED', what);
      }
    }
    const select = await send(
      hex(encodeCommandApdu({ cla: 0x00, ins: INS.SELECT, p1: 0x04, p2: 0x00, data: CARD_AID, le: 256 })),
    );
    assert.equal(select.status, 200, JSON.stringify(select.body));
    assert.equal(select.body.sw, '9000');
    const journal = await send(cbor(CMD.READ_JOURNAL, encodeReadJournalRequest({ fromCounter: 0 })));
    assert.equal(journal.status, 200, JSON.stringify(journal.body));
    assert.equal(journal.body.sw, '9000');
    const after = await infoViaRoute();
    assert.equal(after.pinRetries, before.pinRetries, 'no PIN try was spent');
    assert.equal(after.pukRetries, before.pukRetries);
    assert.equal(after.counter, before.counter);
    assert.equal(after.balance, before.balance);
    assert.equal(after.loadCounter, before.loadCounter);
    assert.equal(after.pinVerified, false);
    assert.equal(storedRecords(), records);
  });
});
