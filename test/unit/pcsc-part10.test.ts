import { strict as assert } from 'node:assert';
import {
  CM_IOCTL_GET_FEATURE_REQUEST,
  PCSC_FEATURE,
  PIN_VERIFY,
  buildPinVerifyStructure,
  parsePcscFeatures,
  readPinPadAnswer,
} from '../../protocol/pcsc/part10.js';
import { encodePinBlock } from '../../protocol/commands/pin.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';
import { toHex } from '../../protocol/bytes.js';
import { ccidVerifyApdu } from '../../device-sim/reader/pcsclite-pinpad-reader.js';

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

describe('PC/SC part 10 (protocol/pcsc/part10.ts): the feature list and PIN_VERIFY_STRUCTURE', () => {
  it('CM_IOCTL_GET_FEATURE_REQUEST is SCARD_CTL_CODE(3400) as pcsc-lite defines it on Linux: 0x42000D48', () => {
    assert.equal(CM_IOCTL_GET_FEATURE_REQUEST, 0x42000d48);
  });

  it('parses a libccid-style feature list (tag, 4, big-endian control code) and an empty one', () => {
    const answer = bytes(
      '06 04 42 33 00 06  07 04 42 33 00 07  0A 04 42 33 00 0A  12 04 42 33 00 12  13 04 42 00 0D AC',
    );
    const f = parsePcscFeatures(answer);
    assert.equal(f.get(PCSC_FEATURE.VERIFY_PIN_DIRECT), 0x42330006);
    assert.equal(f.get(PCSC_FEATURE.MODIFY_PIN_DIRECT), 0x42330007);
    assert.equal(f.get(0x13), 0x42000dac);
    assert.equal(f.size, 5);
    assert.equal(parsePcscFeatures(new Uint8Array(0)).size, 0, 'a reader with no features');
  });

  it('refuses a malformed list with PCSC_FEATURES_INVALID: short TLV, length not 4, repeated tag, tag 0, code 0', () => {
    for (const [hex, why] of [
      ['06 04 42 33 00', /left over/],
      ['06 04 42 33 00 06 07', /left over/],
      ['06 02 42 33 00 06', /length 2, not 4/],
      ['06 04 42 33 00 06 06 04 42 33 00 07', /twice/],
      ['00 04 42 33 00 06', /tag 0/],
      ['06 04 00 00 00 00', /control code 0/],
    ] as const) {
      assert.throws(
        () => parsePcscFeatures(bytes(hex)),
        (e: unknown) => e instanceof DecodeError && e.code === 'PCSC_FEATURES_INVALID' && why.test(e.message),
        hex,
      );
    }
  });

  it('builds the 19-byte header and the VERIFY template field by field (pcsc-lite reader.h layout, little-endian words)', () => {
    const s = buildPinVerifyStructure({ timeoutS: 120 });
    assert.equal(s.length, 19 + 13);
    assert.equal(
      toHex(s),
      [
        '78', // bTimerOut 120 s
        '00', // bTimerOut2
        '41', // bmFormatString: bits, PIN at bit 8, left-justified, BCD
        '48', // bmPINBlockString: 4-bit length field, 8-byte block
        '04', // bmPINLengthFormat: bits, length at bit 4
        '0c04', // wPINMaxExtraDigit 0x040C little-endian: max 12, min 4
        '02', // bEntryValidationCondition: OK key
        '01', // bNumberMessage
        '0904', // wLangId 0x0409 little-endian
        '00', // bMsgIndex
        '000000', // bTeoPrologue
        '0d000000', // ulDataLength 13, little-endian
        '0020008008', // VERIFY, P2 80, Lc 8
        '20ffffffffffffff', // the empty format 2 PIN block the reader fills
      ].join(''),
    );
    assert.equal(s[PIN_VERIFY.abData], 0x00);
    for (const t of [0, 256, 1.5, -1])
      assert.throws(() => buildPinVerifyStructure({ timeoutS: t }), EncodeError, `timeout ${t}`);
    assert.equal(buildPinVerifyStructure({ timeoutS: 255 })[0], 255);
  });

  it('a CCID pad reading the structure as the spec says puts exactly the §2.4 format 2 PIN block into VERIFY, for every PIN length 4–12', () => {
    const s = buildPinVerifyStructure({ timeoutS: 60 });
    for (let n = 4; n <= 12; n++) {
      for (const seed of [0, 3, 7]) {
        const digits = Array.from({ length: n }, (_, i) => (i * 7 + seed * 3 + n) % 10);
        const pin = Uint8Array.from(digits, (d) => 0x30 + d);
        const apdu = ccidVerifyApdu(s, digits);
        assert.notEqual(apdu, 'bad_length');
        assert.equal(toHex(apdu as Uint8Array), '0020008008' + toHex(encodePinBlock(pin)), `PIN of ${n} digits`);
      }
    }
    assert.equal(ccidVerifyApdu(s, [1, 2, 3]), 'bad_length', 'the pad refuses 3 digits (wPINMaxExtraDigit)');
    assert.equal(ccidVerifyApdu(s, new Array<number>(13).fill(1)), 'bad_length', 'and 13');
  });

  it('a wrong field makes a block the card refuses: bytes units for the length, right justification, ASCII', () => {
    const good = buildPinVerifyStructure({ timeoutS: 60 });
    const expected = '0020008008' + toHex(encodePinBlock(Uint8Array.from('1234', (c) => c.charCodeAt(0))));
    for (const [field, value] of [
      [PIN_VERIFY.bmPINLengthFormat, 0x14], // length in bytes: overwrites the whole second byte
      [PIN_VERIFY.bmFormatString, 0x45], // right-justified
      [PIN_VERIFY.bmFormatString, 0x42], // ASCII
      [PIN_VERIFY.bmPINBlockString, 0x08], // no length written: 20 12 34 FF… is no format 2 block
    ] as const) {
      const s = Uint8Array.from(good);
      s[field] = value;
      const apdu = ccidVerifyApdu(s, [1, 2, 3, 4]);
      assert.notEqual(apdu === 'bad_length' ? apdu : toHex(apdu), expected, `field ${field} = ${value}`);
    }
  });

  it('reads the pad answer: 9000, 63Cx, 6983, 6400, 6401, 6403, other SWs refused; not 2 bytes is PIN_PAD_ANSWER_INVALID', () => {
    assert.deepEqual(readPinPadAnswer(bytes('9000')), { result: 'verified' });
    assert.deepEqual(readPinPadAnswer(bytes('63C2')), { result: 'wrong', triesLeft: 2 });
    assert.deepEqual(readPinPadAnswer(bytes('6983')), { result: 'blocked' });
    assert.deepEqual(readPinPadAnswer(bytes('6400')), { result: 'timeout' });
    assert.deepEqual(readPinPadAnswer(bytes('6401')), { result: 'cancelled' });
    assert.deepEqual(readPinPadAnswer(bytes('6403')), { result: 'bad_length' });
    assert.deepEqual(readPinPadAnswer(bytes('6A80')), { result: 'refused', sw: 0x6a80 });
    for (const hex of ['', '90', '019000'])
      assert.throws(
        () => readPinPadAnswer(bytes(hex)),
        (e: unknown) => e instanceof DecodeError && e.code === 'PIN_PAD_ANSWER_INVALID',
      );
  });
});
