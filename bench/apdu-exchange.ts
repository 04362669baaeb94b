/**
 * The wire codecs of one SIGN_TXN exchange, without crypto or I/O: host encodes the request
 * (CBOR map → command data → APDU), card decodes and validates it, card encodes its answer (a
 * signed record envelope in the CBOR response → response APDU), host decodes the answer down to
 * a validated record. This is the per-sale protocol overhead the host and card pay on top of SM2.
 *
 *   node --import tsx bench/apdu-exchange.ts [seconds, default 2]
 */
import {
  decodeCommandApdu,
  decodeResponseApdu,
  encodeCommandApdu,
  encodeResponseApdu,
} from '../protocol/apdu/index.js';
import {
  CMD,
  decodeCommandData,
  decodeResponseData,
  encodeCommandData,
  encodeRecordResponse,
  encodeResponseData,
  encodeSignTxnRequest,
  readRecordResponse,
  readSignTxnRequest,
  type SignTxnRequest,
} from '../protocol/commands/index.js';
import { generateKeyPair } from '../protocol/crypto/index.js';
import { CVM, ZERO_HASH, decodeTxnRecord, signTxnRecord } from '../protocol/record/index.js';

const seconds = Number(process.argv[2] ?? 2);
const key = generateKeyPair('sm2-sm3');
const request: SignTxnRequest = {
  amount: 1250,
  currency: 156,
  merchantId: 'M-canteen-0001',
  terminalId: 'T-07',
  time: 1_790_000_000,
  hostNonce: new Uint8Array(16).fill(7),
};
const record = signTxnRecord('sm2-sm3', key.privateKey, {
  cardId: new Uint8Array(8).fill(1),
  counter: 4711,
  amount: request.amount,
  currency: request.currency,
  merchantId: request.merchantId,
  terminalId: request.terminalId,
  time: request.time,
  hostNonce: request.hostNonce,
  balanceAfter: 98_750,
  prevHash: ZERO_HASH.map(() => 0xab),
  algorithm: 1,
  cvm: CVM.NONE,
});

let bytesOnWire = 0;
function exchangeOnce(): void {
  const apdu = encodeCommandApdu({
    cla: 0x80,
    ins: 0x10,
    p1: 0,
    p2: 0,
    data: encodeCommandData(CMD.SIGN_TXN, encodeSignTxnRequest(request)),
    le: 256,
  });
  const cmd = decodeCommandApdu(apdu); // card side
  const { params } = decodeCommandData(cmd.data!);
  readSignTxnRequest(params);
  const rapdu = encodeResponseApdu(encodeResponseData(0, encodeRecordResponse(record.envelope)), 0x9000);
  const r = decodeResponseApdu(rapdu); // host side
  const decoded = decodeTxnRecord(readRecordResponse(decodeResponseData(r.data).result));
  if (decoded.counter !== 4711) throw new Error('bench: wrong record');
  bytesOnWire = apdu.length + rapdu.length;
}

for (let i = 0; i < 2000; i++) exchangeOnce(); // warm up
let n = 0;
const t0 = process.hrtime.bigint();
const end = t0 + BigInt(Math.round(seconds * 1e9));
while (process.hrtime.bigint() < end) {
  for (let i = 0; i < 100; i++) exchangeOnce();
  n += 100;
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  `SIGN_TXN exchange codecs (no crypto, no I/O): ${Math.round(n / s).toLocaleString('en')} exchanges/s, ${((1e6 * s) / n).toFixed(1)} µs each, ${bytesOnWire} bytes on the wire (command + response APDU), ${((n * bytesOnWire) / s / 1e6).toFixed(1)} MB/s`,
);
