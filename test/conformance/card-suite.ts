import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { ApduStatusError, SW, exchange, type ApduTransport } from '../../protocol/apdu/index.js';
import { buildMap, encodeCanonical } from '../../protocol/cbor/index.js';
import {
  CARD_STATUS,
  CardClient,
  CardStatusError,
  CMD,
  LIFECYCLE,
  encodeBlockCardRequest,
  encodeCommandData,
  encodeSignTxnRequest,
  encodeVoidTxnRequest,
  readCardInfo,
  type CardInfo,
  type CardStatusName,
  type SignTxnRequest,
  type VoidTxnRequest,
} from '../../protocol/commands/index.js';
import {
  BLOCK_REASON,
  CERT_KIND,
  CVM,
  ZERO_HASH,
  checkChainLink,
  decodeCertificate,
  decodeTxnRecord,
  issueCertificate,
  signBlockOrder,
  verifyTxnRecord,
  type SignedTxnRecord,
} from '../../protocol/record/index.js';
import { generateKeyPair } from '../../protocol/crypto/index.js';
import type { CardReader } from '../../protocol/transport.js';
import { TestIssuer, TEST_LIMITS, ascii, NOW } from '../support/issuer.js';

/**
 * One conformance suite for every implementation of the card (docs/protocol.md §2–§7): the
 * in-process applet, the same applet behind real pcscd (vpcd + libpcsclite + nfc-pcsc), and any
 * card built to the spec later. Black-box: it only sends APDUs through the reader it is given.
 */
export interface CardFixture {
  reader: CardReader;
  /** Take the card out and put it back (power cycle, deselects, clears PIN state). */
  reinsert(): Promise<void>;
  close(): Promise<void>;
}

/** Send raw bytes and get the SW/data, for malformed-input tests. */
async function raw(t: ApduTransport, hex: string): Promise<{ data: Uint8Array; sw: number }> {
  const r = await t.transmit(Uint8Array.from(Buffer.from(hex.replace(/\s/g, ''), 'hex')));
  return { data: r.subarray(0, r.length - 2), sw: (r[r.length - 2]! << 8) | r[r.length - 1]! };
}

async function refusedWith(p: Promise<unknown>, name: CardStatusName, retries?: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CardStatusError, `expected CardStatusError ${name}, got ${String(e)}`);
    assert.equal(e.statusName, name);
    if (retries !== undefined) assert.equal(e.retries, retries);
    return true;
  });
}

/** The purse fields that a refused command must leave untouched. */
function purseOf(i: CardInfo) {
  return {
    counter: i.counter,
    balance: i.balance,
    offlineAmount: i.offlineAmount,
    offlineCount: i.offlineCount,
    loadCounter: i.loadCounter,
    lastRecordHash: Buffer.from(i.lastRecordHash).toString('hex'),
  };
}

export function cardConformanceSuite(name: string, makeFixture: () => Promise<CardFixture | undefined>): void {
  describe(`card conformance: ${name}`, function () {
    this.timeout(60_000);
    let fx: CardFixture;
    let client: CardClient;
    const issuer = new TestIssuer();
    const cardId = Uint8Array.from(randomBytes(8));
    let cardKey: Uint8Array;
    const records: SignedTxnRecord[] = [];

    const sale = (amount: number, over: Partial<SignTxnRequest> = {}): SignTxnRequest => ({
      amount,
      currency: 156,
      merchantId: 'M-0001',
      terminalId: 'T-01',
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
      ...over,
    });
    const unchanged = async (action: () => Promise<unknown>, name: CardStatusName) => {
      const before = purseOf(await client.getInfo());
      await refusedWith(action(), name);
      assert.deepEqual(purseOf(await client.getInfo()), before, `${name} must leave the purse unchanged`);
    };

    before(async function () {
      const f = await makeFixture();
      if (!f) {
        this.skip();
        return;
      }
      fx = f;
      client = new CardClient(fx.reader);
    });
    after(async () => {
      await fx?.close();
    });

    it('answers SELECT with its protocol info, and 6A82 for another AID', async () => {
      const info = await client.select();
      assert.equal(info.protocolVersion, 1);
      assert.ok(info.maxMessageSize >= 1024, 'info.maxMessageSize >= 1024');
      assert.equal(info.lifecycle, LIFECYCLE.BLANK);
      assert.equal((await raw(fx.reader, '00A4040005A000000003 00')).sw, SW.FILE_NOT_FOUND);
      await client.select();
    });

    it('refuses application commands before SELECT', async () => {
      await fx.reinsert();
      assert.equal((await raw(fx.reader, '8010000001 01 00')).sw, SW.CONDITIONS_NOT_SATISFIED);
      await client.select();
    });

    it('reports a blank card in GET_INFO', async () => {
      const info = await client.getInfo();
      assert.equal(info.lifecycle, LIFECYCLE.BLANK);
      assert.equal(info.cardId, undefined);
      assert.equal(info.counter, 0);
      await refusedWith(client.signTxn(sale(100)), 'WRONG_STATE');
    });

    it('refuses a personalisation commit with a bad issuer authorisation or a foreign certificate', async () => {
      const begin = await client.personalizeBegin({ cardId, algorithm: 1, issuer: issuer.certificate.envelope });
      const now = NOW();
      const cert = issueCertificate(issuer.key, {
        serial: Uint8Array.of(9),
        kind: CERT_KIND.CARD,
        subjectId: cardId,
        algorithm: 1,
        publicKey: begin.publicKey,
        notBefore: now,
        notAfter: now + 1000,
        limits: TEST_LIMITS,
        currency: 156,
      });
      await refusedWith(
        client.personalizeCommit({
          certificate: cert.envelope,
          pin: ascii('0000'),
          puk: ascii('12345678'),
          authorisation: new Uint8Array(64),
        }),
        'AUTHORISATION_INVALID',
      );
      const otherKey = generateKeyPair('sm2-sm3').publicKey;
      const wrong = issueCertificate(issuer.key, {
        serial: Uint8Array.of(9),
        kind: CERT_KIND.CARD,
        subjectId: cardId,
        algorithm: 1,
        publicKey: otherKey,
        notBefore: now,
        notAfter: now + 1000,
        limits: TEST_LIMITS,
        currency: 156,
      });
      const { sign } = await import('../../protocol/crypto/index.js');
      const { personalizationAuthorisationMessage } = await import('../../protocol/commands/index.js');
      const commit = { certificate: wrong.envelope, pin: ascii('0000'), puk: ascii('12345678') };
      const auth = sign('sm2-sm3', issuer.key.privateKey, personalizationAuthorisationMessage(begin.challenge, commit));
      await refusedWith(client.personalizeCommit({ ...commit, authorisation: auth }), 'CERTIFICATE_INVALID');
      assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.BLANK);
    });

    it('is personalised by the issuer, then needs a PIN change before paying', async () => {
      const { personalizeCard } = await import('../../protocol/commands/index.js');
      const now = NOW();
      const cert = await personalizeCard(
        client,
        { key: issuer.key, certificate: issuer.certificate },
        {
          cardId,
          algorithm: 'sm2-sm3',
          currency: 156,
          limits: TEST_LIMITS,
          pin: ascii('0000'),
          puk: ascii('12345678'),
          notBefore: now - 60,
          notAfter: now + 86400,
          serial: Uint8Array.of(3),
        },
      );
      const info = await client.getInfo();
      assert.equal(info.lifecycle, LIFECYCLE.PERSONALISED);
      assert.deepEqual(info.cardId, cardId);
      assert.deepEqual(info.certificate, cert.envelope);
      assert.deepEqual(decodeCertificate(info.certificate!).publicKey, info.publicKey);
      assert.equal(info.pinRetries, 3);
      assert.equal(info.pukRetries, 10);
      assert.deepEqual(info.limits, TEST_LIMITS);
      cardKey = info.publicKey!;
      await refusedWith(client.signTxn(sale(100)), 'PIN_CHANGE_REQUIRED');
      await refusedWith(
        client.personalizeBegin({ cardId, algorithm: 1, issuer: issuer.certificate.envelope }),
        'WRONG_STATE',
      );
      await client.changePin(ascii('0000'), ascii('1234'));
      assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.ACTIVE);
    });

    it('loads an issuer-signed top-up once, in order, for this card only', async () => {
      const t1 = issuer.topup(cardId, 1, 100_000);
      const r = await client.load({ token: t1.envelope, authority: issuer.authority.envelope });
      assert.deepEqual(r, { balance: 100_000, loadCounter: 1 });
      await unchanged(
        () => client.load({ token: t1.envelope, authority: issuer.authority.envelope }),
        'TOKEN_REPLAYED',
      );
      await unchanged(
        () =>
          client.load({
            token: issuer.topup(Uint8Array.from(randomBytes(8)), 2, 5).envelope,
            authority: issuer.authority.envelope,
          }),
        'TOKEN_WRONG_CARD',
      );
      await unchanged(
        () =>
          client.load({
            token: issuer.topup(cardId, 2, 5, { currency: 978 }).envelope,
            authority: issuer.authority.envelope,
          }),
        'TOKEN_WRONG_CARD',
      );
      const rogue = new TestIssuer();
      await unchanged(
        () => client.load({ token: rogue.topup(cardId, 2, 5).envelope, authority: rogue.authority.envelope }),
        'AUTHORITY_INVALID',
      );
      await unchanged(
        () =>
          client.load({
            token: issuer.topup(cardId, 2, 5, { key: rogue.authorityKey }).envelope,
            authority: issuer.authority.envelope,
          }),
        'TOKEN_SIGNATURE_INVALID',
      );
      await unchanged(
        () =>
          client.load({
            token: issuer.topup(cardId, 2, TEST_LIMITS.maxBalance).envelope,
            authority: issuer.authority.envelope,
          }),
        'BALANCE_LIMIT',
      );
    });

    it('signs a sale below the no-PIN limit: a verifiable record starting the hash chain', async () => {
      await fx.reinsert();
      await client.select();
      const q = sale(1250);
      const rec = decodeTxnRecord(await client.signTxn(q));
      assert.equal(verifyTxnRecord(rec, cardKey), true);
      assert.equal(rec.counter, 1);
      assert.deepEqual(rec.prevHash, ZERO_HASH);
      assert.equal(rec.balanceAfter, 100_000 - 1250);
      assert.equal(rec.cvm, CVM.NONE);
      assert.equal(rec.amount, 1250);
      assert.deepEqual(rec.hostNonce, q.hostNonce);
      records.push(rec);
      const info = await client.getInfo();
      assert.equal(info.counter, 1);
      assert.deepEqual(info.lastRecordHash, rec.hash);
      assert.equal(info.offlineCount, 1);
    });

    it('needs the PIN above the no-PIN limit and marks the record as PIN-verified', async () => {
      await unchanged(() => client.signTxn(sale(TEST_LIMITS.noPin + 1)), 'PIN_REQUIRED');
      assert.equal(await client.verifyPin(ascii('1234')), 3);
      const rec = decodeTxnRecord(await client.signTxn(sale(TEST_LIMITS.noPin + 1)));
      assert.equal(rec.cvm, CVM.OFFLINE_PIN);
      assert.deepEqual(checkChainLink(records.at(-1), rec), { ok: true });
      records.push(rec);
      await fx.reinsert();
      await client.select();
      assert.equal((await client.getInfo()).pinVerified, false, 'PIN state ends with the power');
    });

    it('answers a retried SIGN_TXN with the same record and signs nothing new', async () => {
      const q = sale(300);
      const first = await client.signTxn(q);
      const again = await client.signTxn(q);
      assert.deepEqual(again, first);
      const rec = decodeTxnRecord(first);
      assert.equal((await client.getInfo()).counter, rec.counter);
      records.push(rec);
      await unchanged(() => client.signTxn({ ...q, amount: 301 }), 'NONCE_REUSED');
    });

    it('enforces currency, per-transaction limit and balance', async () => {
      await unchanged(() => client.signTxn(sale(100, { currency: 978 })), 'CURRENCY_MISMATCH');
      await unchanged(() => client.signTxn(sale(TEST_LIMITS.perTransaction + 1)), 'OVER_TRANSACTION_LIMIT');
      await client.verifyPin(ascii('1234'));
      const { balance } = await client.getInfo();
      assert.ok(balance < TEST_LIMITS.perTransaction, 'the fixture keeps the balance under the per-transaction limit');
      await unchanged(() => client.signTxn(sale(balance + 1)), 'INSUFFICIENT_FUNDS');
    });

    it('counts wrong PINs down to blocked; only the PUK unblocks, and the purse is untouched', async () => {
      const before = purseOf(await client.getInfo());
      await refusedWith(client.verifyPin(ascii('9999')), 'PIN_INVALID', 2);
      assert.equal(await client.isoVerify(ascii('9998')), 0x63c1);
      assert.equal(await client.isoVerify(), 0x63c1, 'empty VERIFY reports tries left');
      await refusedWith(client.verifyPin(ascii('9997')), 'PIN_BLOCKED', 0);
      assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.PIN_BLOCKED);
      await refusedWith(client.verifyPin(ascii('1234')), 'PIN_BLOCKED');
      assert.equal(await client.isoVerify(ascii('1234')), SW.AUTH_METHOD_BLOCKED);
      await refusedWith(client.signTxn(sale(100)), 'PIN_BLOCKED');
      await refusedWith(client.unblockPin(ascii('87654321'), ascii('4321')), 'PUK_INVALID', 9);
      assert.equal(await client.unblockPin(ascii('12345678'), ascii('4321')), 3);
      const info = await client.getInfo();
      assert.equal(info.lifecycle, LIFECYCLE.ACTIVE);
      assert.equal(info.pukRetries, 10);
      assert.deepEqual(purseOf(info), before);
      assert.equal(await client.isoVerify(ascii('4321')), SW.OK);
      assert.equal(await client.isoVerify(), SW.OK);
      await client.changePin(ascii('4321'), ascii('1234'));
    });

    it('READ_JOURNAL returns every record, chained, in pages', async () => {
      for (let i = 0; i < 5; i++) records.push(decodeTxnRecord(await client.signTxn(sale(10 + i))));
      const all = await client.readJournalFrom(1);
      assert.equal(all.lastCounter, records.length);
      assert.deepEqual(
        all.records.map((r) => Buffer.from(r).toString('hex')),
        records.map((r) => Buffer.from(r.envelope).toString('hex')),
      );
      let prev: SignedTxnRecord | undefined;
      for (const env of all.records) {
        const r = decodeTxnRecord(env);
        assert.equal(verifyTxnRecord(r, cardKey), true);
        assert.deepEqual(checkChainLink(prev, r), { ok: true });
        prev = r;
      }
      const page = await client.readJournal(3, 2);
      assert.equal(page.records.length, 2);
      assert.equal(decodeTxnRecord(page.records[0]!).counter, 3);
      assert.equal((await client.readJournal(records.length + 1)).records.length, 0);
    });

    it('refuses malformed, non-canonical and unknown input with its documented status, state unchanged', async () => {
      const before = purseOf(await client.getInfo());
      const cmd = async (data: Uint8Array) => {
        const r = await exchange(
          fx.reader,
          { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data, le: 256 },
          { extendedLength: false },
        );
        assert.equal(r.sw, SW.OK);
        return r.data[0];
      };
      const good = encodeSignTxnRequest(sale(5));
      // the same request with amount 5 written in two bytes (18 05): not canonical
      const canon = Buffer.from(encodeCanonical(good)).toString('hex');
      const nonCanonical = Buffer.from(canon.replace(/^a60105/, 'a6011805'), 'hex');
      assert.notEqual(canon, nonCanonical.toString('hex'));
      assert.equal(await cmd(Uint8Array.from([0x03, ...nonCanonical])), CARD_STATUS.INVALID_CBOR.code);
      assert.equal(
        await cmd(Uint8Array.from([0x03, 0xbf, 0x01, 0x05, 0xff])),
        CARD_STATUS.INVALID_CBOR.code,
        'indefinite map',
      );
      assert.equal(
        await cmd(Uint8Array.from([0x03, ...encodeCanonical(good), 0x00])),
        CARD_STATUS.INVALID_CBOR.code,
        'trailing byte',
      );
      const extra = new Map(good);
      extra.set(99, 1);
      assert.equal(await cmd(encodeCommandData(0x03, extra)), CARD_STATUS.INVALID_PARAMETER.code, 'unknown key');
      const missing = new Map(good);
      missing.delete(6);
      assert.equal(await cmd(encodeCommandData(0x03, missing)), CARD_STATUS.INVALID_PARAMETER.code, 'missing key');
      const wrongType = new Map(good);
      wrongType.set(1, 'five');
      assert.equal(await cmd(encodeCommandData(0x03, wrongType)), CARD_STATUS.INVALID_PARAMETER.code, 'wrong type');
      assert.equal(await cmd(encodeCommandData(0x03, buildMap([[1, 0]]))), CARD_STATUS.INVALID_PARAMETER.code);
      assert.equal(await cmd(Uint8Array.of(0x7e)), CARD_STATUS.INVALID_COMMAND.code);
      assert.equal(await cmd(Uint8Array.of(0x03, 0x1b)), CARD_STATUS.INVALID_CBOR.code, 'truncated');

      assert.equal((await raw(fx.reader, '80100000')).sw, 0x6101, 'no Le: the one-byte refusal waits for GET RESPONSE');
      assert.deepEqual(Array.from((await raw(fx.reader, '80C0000001')).data), [CARD_STATUS.INVALID_PARAMETER.code]);
      assert.equal((await raw(fx.reader, '8010000005 0301')).sw, SW.WRONG_LENGTH, 'Lc larger than the data');
      assert.equal((await raw(fx.reader, '801000')).sw, SW.WRONG_LENGTH, 'truncated header');
      assert.equal((await raw(fx.reader, '80110000')).sw, SW.INS_NOT_SUPPORTED);
      assert.equal((await raw(fx.reader, '9010000001 01')).sw, SW.OK, 'first part of a chain');
      assert.equal(
        (await raw(fx.reader, '80CA000000')).sw,
        SW.LAST_COMMAND_OF_CHAIN_EXPECTED,
        'another INS in the middle of a chain',
      );
      assert.equal(
        (await raw(fx.reader, '1020008008 241234FFFFFFFFFF')).sw,
        SW.CHAINING_NOT_SUPPORTED,
        'chaining is for the CBOR INS only',
      );
      await client.select();
      assert.equal((await raw(fx.reader, 'C010000001 01')).sw, SW.CLA_NOT_SUPPORTED);
      assert.equal((await raw(fx.reader, '0020008004 24123456')).sw, SW.WRONG_LENGTH, 'PIN block of 4 bytes');
      assert.equal((await raw(fx.reader, '0020008008 3412 34FF FFFF FFFF')).sw, SW.WRONG_DATA, 'bad PIN block');
      assert.deepEqual(purseOf(await client.getInfo()), before);
    });

    it('carries long commands by chaining when extended APDUs are not used', async () => {
      // A GET_INFO request padded with a 1500-byte unknown field: must be reassembled, then refused as INVALID_PARAMETER.
      const big = encodeCommandData(0x01, buildMap([[1, new Uint8Array(1500)]]));
      const r = await exchange(
        fx.reader,
        { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: big, le: 256 },
        { extendedLength: false },
      );
      assert.equal(r.sw, SW.OK);
      assert.equal(r.data[0], CARD_STATUS.INVALID_PARAMETER.code);
      // GET_INFO's answer is longer than 64 bytes: ask with Le=64 and follow 61xx
      const info = await exchange(
        fx.reader,
        { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: Uint8Array.of(0x01), le: 64 },
        { extendedLength: false },
      );
      assert.equal(info.sw, SW.OK);
      assert.ok(info.data.length > 64, 'info.data.length > 64');
      const { decodeResponseData } = await import('../../protocol/commands/index.js');
      assert.deepEqual(readCardInfo(decodeResponseData(info.data).result).cardId, cardId);
    });

    it('says 6A84 for a message over its maximum size', async () => {
      const { maxMessageSize } = await client.select();
      const r = await exchange(
        fx.reader,
        { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: new Uint8Array(maxMessageSize + 1).fill(1), le: 256 },
        { extendedLength: false },
      );
      assert.ok(r.sw === SW.NOT_ENOUGH_MEMORY, `got ${r.sw.toString(16)}`);
      await client.select();
    });

    it('a zero-amount top-up with resetOffline is an online sync: offline totals go to zero', async () => {
      const info = await client.getInfo();
      assert.equal(info.offlineCount, records.length);
      const r = await client.load({
        token: issuer.topup(cardId, info.loadCounter + 1, 0).envelope,
        authority: issuer.authority.envelope,
      });
      assert.equal(r.loadCounter, info.loadCounter + 1);
      const after = await client.getInfo();
      assert.equal(after.offlineCount, 0);
      assert.equal(after.offlineAmount, 0);
      assert.equal(after.balance, info.balance);
    });

    it("refuses an expired top-up token (by the card's own counter)", async () => {
      const info = await client.getInfo();
      await unchanged(
        () =>
          client.load({
            token: issuer.topup(cardId, info.loadCounter + 1, 5, { validUntilCounter: info.counter - 1 }).envelope,
            authority: issuer.authority.envelope,
          }),
        'TOKEN_EXPIRED',
      );
    });

    // VOID_TXN (docs/protocol.md §4.9) and refund tokens (§4.5): money goes back once, never twice.
    const voidOf = (rec: SignedTxnRecord, over: Partial<VoidTxnRequest> = {}): VoidTxnRequest => ({
      counter: rec.counter,
      amount: rec.amount,
      merchantId: rec.merchantId,
      terminalId: rec.terminalId,
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
      ...over,
    });

    it('VOID_TXN voids the last sale once: a signed reversal continuing the chain, purse and offline totals restored', async () => {
      await fx.reinsert();
      await client.select();
      const before = await client.getInfo();
      const rec = decodeTxnRecord(await client.signTxn(sale(700)));
      records.push(rec);
      await unchanged(() => client.voidTxn(voidOf(rec, { amount: 699 })), 'VOID_MISMATCH');
      await unchanged(() => client.voidTxn(voidOf(rec, { merchantId: 'M-other' })), 'VOID_MISMATCH');
      await unchanged(() => client.voidTxn(voidOf(rec, { terminalId: 'T-99' })), 'VOID_MISMATCH');
      await unchanged(() => client.voidTxn(voidOf(rec, { counter: rec.counter - 1 })), 'VOID_NOT_ALLOWED');
      const q = voidOf(rec);
      const rev = decodeTxnRecord(await client.voidTxn(q));
      assert.equal(verifyTxnRecord(rev, cardKey), true, 'signed by the card');
      assert.equal(rev.reverses, rec.counter);
      assert.equal(rev.counter, rec.counter + 1);
      assert.equal(rev.amount, 700);
      assert.equal(rev.cvm, CVM.NONE);
      assert.equal(rev.balanceAfter, before.balance);
      assert.deepEqual(checkChainLink(rec, rev), { ok: true }, 'the reversal continues the chain');
      records.push(rev);
      const after = await client.getInfo();
      assert.equal(after.balance, before.balance, 'balance back');
      assert.equal(after.offlineAmount, before.offlineAmount, 'offline amount back');
      assert.equal(after.offlineCount, before.offlineCount, 'offline count back');
      assert.deepEqual(after.lastRecordHash, rev.hash);
      // a lost answer: the same request gets the same record, nothing new
      assert.deepEqual(await client.voidTxn(q), rev.envelope);
      await unchanged(() => client.voidTxn({ ...q, time: q.time + 1 }), 'NONCE_REUSED');
      await unchanged(() => client.voidTxn(voidOf(rec)), 'ALREADY_VOIDED');
      await unchanged(() => client.voidTxn(voidOf(rev)), 'VOID_NOT_ALLOWED'); // a reversal is not voided
      // and a SIGN_TXN with the reversal's nonce is not answered with the reversal
      await unchanged(() => client.signTxn(sale(700, { hostNonce: q.hostNonce, time: q.time })), 'NONCE_REUSED');
      const journal = await client.readJournalFrom(rev.counter);
      assert.deepEqual(journal.records.at(-1), rev.envelope, 'the reversal is in the journal');
    });

    it('VOID_TXN refuses an older sale and a sale followed by a top-up; it needs no PIN', async () => {
      const a = decodeTxnRecord(await client.signTxn(sale(TEST_LIMITS.noPin)));
      const b = decodeTxnRecord(await client.signTxn(sale(40)));
      records.push(a, b);
      await unchanged(() => client.voidTxn(voidOf(a)), 'VOID_NOT_ALLOWED');
      const info = await client.getInfo();
      await client.load({
        token: issuer.topup(cardId, info.loadCounter + 1, 0, { settledCounter: 0 }).envelope,
        authority: issuer.authority.envelope,
      });
      await unchanged(() => client.voidTxn(voidOf(b)), 'VOID_NOT_ALLOWED');
      const c = decodeTxnRecord(await client.signTxn(sale(TEST_LIMITS.noPin)));
      records.push(c);
      assert.equal((await client.getInfo()).pinVerified, false);
      records.push(decodeTxnRecord(await client.voidTxn(voidOf(c))));
    });

    it('LOADs a refund token once the sale cannot be voided, never for a sale the card voided', async () => {
      const authority = issuer.authority.envelope;
      const voided = records.at(-2)!; // the sale the last test voided
      let info = await client.getInfo();
      const refund = (refundOf: number, amount = 10) =>
        issuer.topup(cardId, info.loadCounter + 1, amount, { refundOf }).envelope;
      await unchanged(() => client.load({ token: refund(voided.counter), authority }), 'REFUND_OF_VOIDED');
      await unchanged(() => client.load({ token: refund(info.counter + 5), authority }), 'REFUND_UNPROVABLE');
      const d = decodeTxnRecord(await client.signTxn(sale(120)));
      records.push(d);
      info = await client.getInfo();
      const r = await client.load({ token: refund(d.counter, 50), authority }); // d is the last: the LOAD ends its void
      assert.equal(r.balance, info.balance + 50);
      await refusedWith(client.voidTxn(voidOf(d)), 'VOID_NOT_ALLOWED');
      const e = decodeTxnRecord(await client.signTxn(sale(30)));
      records.push(e);
      info = await client.getInfo();
      assert.equal((await client.load({ token: refund(d.counter, 20), authority })).balance, info.balance + 20);
    });

    it('refuses a malformed VOID_TXN with INVALID_PARAMETER or INVALID_CBOR, state unchanged', async () => {
      const before = purseOf(await client.getInfo());
      const cmd = async (data: Uint8Array) => {
        const r = await exchange(
          fx.reader,
          { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data, le: 256 },
          { extendedLength: false },
        );
        assert.equal(r.sw, SW.OK);
        return r.data[0];
      };
      const good = encodeVoidTxnRequest(voidOf(records.at(-1)!));
      const without = new Map(good);
      without.delete(2);
      assert.equal(
        await cmd(Uint8Array.from([CMD.VOID_TXN, ...encodeCanonical(without)])),
        CARD_STATUS.INVALID_PARAMETER.code,
        'no amount',
      );
      const zero = new Map(good).set(1, 0);
      assert.equal(
        await cmd(Uint8Array.from([CMD.VOID_TXN, ...encodeCanonical(zero)])),
        CARD_STATUS.INVALID_PARAMETER.code,
        'counter 0',
      );
      assert.equal(
        await cmd(Uint8Array.from([CMD.VOID_TXN, ...encodeCanonical(good), 0x00])),
        CARD_STATUS.INVALID_CBOR.code,
        'trailing byte',
      );
      assert.deepEqual(purseOf(await client.getInfo()), before);
    });

    it('the ApduStatusError of a failed SELECT names the problem', async () => {
      await fx.reinsert();
      const bogus = new CardClient({ extendedLength: false, transmit: async () => Uint8Array.of(0x6a, 0x82) });
      await assert.rejects(
        bogus.select(),
        (e: unknown) => e instanceof ApduStatusError && /no cardpost application/.test(e.hint),
      );
      await client.select();
    });

    // Last: a blocked card stays blocked (docs/protocol.md §4.8, §6.1).
    it("BLOCK_CARD refuses a bad signature, another card's order, an unknown authority and malformed CBOR, state unchanged", async () => {
      const before = await client.getInfo();
      const order = (id: Uint8Array, key = issuer.authorityKey) =>
        signBlockOrder(key, { cardId: id, reason: BLOCK_REASON.LOST, issuedAt: NOW(), listSequence: 1 }).envelope;
      const stranger = new TestIssuer();
      await refusedWith(
        client.blockCard(order(cardId, stranger.authorityKey), issuer.authority.envelope),
        'BLOCK_ORDER_INVALID',
      );
      await refusedWith(client.blockCard(order(cardId)), 'BLOCK_ORDER_INVALID'); // the authority's order checked as the CA's
      await refusedWith(
        client.blockCard(order(Uint8Array.from(randomBytes(8))), issuer.authority.envelope),
        'BLOCK_ORDER_WRONG_CARD',
      );
      await refusedWith(
        client.blockCard(order(cardId, stranger.authorityKey), stranger.authority.envelope),
        'AUTHORITY_INVALID',
      );
      await refusedWith(client.blockCard(Uint8Array.of(0xa0), issuer.authority.envelope), 'BLOCK_ORDER_INVALID');
      const good = encodeCanonical(
        encodeBlockCardRequest({ order: order(cardId), authority: issuer.authority.envelope }),
      );
      const cmd = async (data: Uint8Array) => {
        const r = await exchange(
          fx.reader,
          { cla: 0x80, ins: 0x10, p1: 0, p2: 0, data, le: 256 },
          { extendedLength: false },
        );
        assert.equal(r.sw, SW.OK);
        return r.data[0];
      };
      assert.equal(
        await cmd(Uint8Array.from([CMD.BLOCK_CARD, ...good, 0x00])),
        CARD_STATUS.INVALID_CBOR.code,
        'trailing byte',
      );
      assert.equal(
        await cmd(Uint8Array.from([CMD.BLOCK_CARD, 0xbf, 0xff])),
        CARD_STATUS.INVALID_CBOR.code,
        'indefinite',
      );
      assert.equal(await cmd(Uint8Array.of(CMD.BLOCK_CARD)), CARD_STATUS.INVALID_PARAMETER.code, 'no order');
      const after = await client.getInfo();
      assert.equal(after.lifecycle, before.lifecycle, 'still not blocked');
      assert.deepEqual(purseOf(after), purseOf(before));
    });

    it("BLOCK_CARD with the issuer's order blocks the card at once: only GET_INFO, SELECT and READ_JOURNAL after it", async () => {
      const { counter } = await client.getInfo();
      const order = signBlockOrder(issuer.authorityKey, {
        cardId,
        reason: BLOCK_REASON.STOLEN,
        issuedAt: NOW(),
        listSequence: 2,
      });
      await client.blockCard(order.envelope, issuer.authority.envelope);
      await client.blockCard(order.envelope, issuer.authority.envelope); // idempotent
      await fx.reinsert();
      assert.equal((await client.select()).lifecycle, LIFECYCLE.BLOCKED, 'it survives a power cycle');
      const info = await client.getInfo();
      assert.equal(info.lifecycle, LIFECYCLE.BLOCKED);
      assert.equal(info.counter, counter);
      const journal = await client.readJournalFrom(1);
      assert.equal(journal.lastCounter, counter, 'the journal stays readable');
      await refusedWith(client.signTxn(sale(5)), 'BLOCKED');
      await refusedWith(client.voidTxn(voidOf(records.at(-1)!)), 'BLOCKED');
      await refusedWith(client.verifyPin(ascii('1234')), 'BLOCKED');
      await refusedWith(
        client.load({
          token: issuer.topup(cardId, info.loadCounter + 1, 5).envelope,
          authority: issuer.authority.envelope,
        }),
        'BLOCKED',
      );
      assert.equal((await raw(fx.reader, '0020008000')).sw, SW.CONDITIONS_NOT_SATISFIED, 'ISO VERIFY');
    });
  });
}
