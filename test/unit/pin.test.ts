import { strict as assert } from 'node:assert';
import { decodePinBlock, encodePinBlock, isValidPin } from '../../protocol/commands/pin.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('PIN and ISO 9564 format 2 PIN blocks', () => {
  it('encodes the EMV example layout', () => {
    assert.equal(toHex(encodePinBlock(ascii('1234'))), '241234ffffffffff');
    assert.equal(toHex(encodePinBlock(ascii('123456789012'))), '2c123456789012ff');
  });
  it('round-trips every length 4..12', () => {
    for (let n = 4; n <= 12; n++) {
      const pin = ascii('908172635445'.slice(0, n));
      assert.deepEqual(decodePinBlock(encodePinBlock(pin)), pin);
    }
  });
  it('accepts only digits of the right length', () => {
    assert.equal(isValidPin(ascii('0000')), true);
    assert.equal(isValidPin(ascii('123')), false);
    assert.equal(isValidPin(ascii('1234567890123')), false);
    assert.equal(isValidPin(ascii('12a4')), false);
    assert.throws(() => encodePinBlock(ascii('12')), EncodeError);
  });
  for (const [name, block] of [
    ['short', '241234ffffff'],
    ['control 3', '341234ffffffffff'],
    ['length 3', '23123fffffffffff'],
    ['non-digit', '24123affffffffff'],
    ['bad filler', '241234fffffffff0'],
    ['length 13', '2d1234567890123f'],
  ] as const) {
    it(`rejects a block with ${name}`, () => {
      assert.throws(
        () => decodePinBlock(fromHex(block)),
        (e: unknown) => e instanceof DecodeError && e.code === 'PIN_BLOCK_INVALID',
      );
    });
  }
});
