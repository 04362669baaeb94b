import { DecodeError, EncodeError } from '../errors.js';
import { PIN_MAX, PIN_MIN } from '../commands/pin.js';

/**
 * PC/SC part 10 ("IFDs with secure PIN entry capabilities", v2.02): how a host finds and drives the
 * PIN pad of a CCID reader (docs/protocol.md §2.4). Pure: the transport sends the bytes built here
 * with SCardControl and hands the answers back to the parsers here.
 *
 * 1. `SCardControl(CM_IOCTL_GET_FEATURE_REQUEST)` with no input answers a list of TLVs, each
 *    `tag (1) | length (1) = 4 | control code (4, big-endian)`: the features the reader offers and
 *    the control code to ask for each (parsePcscFeatures).
 * 2. `SCardControl(<FEATURE_VERIFY_PIN_DIRECT's code>, PIN_VERIFY_STRUCTURE)`: the reader shows its
 *    prompt, collects the digits on its own keypad, writes them into the APDU template the structure
 *    carries, sends that APDU to the card and answers the card's status word — or its own 6400
 *    (time-out) / 6401 (cancel pressed) (readPinPadAnswer). The PIN never reaches the host.
 */

/** pcsc-lite's SCARD_CTL_CODE on Linux and macOS: 0x42000000 + code. (Windows uses another formula.) */
export const scardCtlCode = (code: number): number => 0x42000000 + code;
/** The control code that asks a reader for its part 10 features: SCARD_CTL_CODE(3400). */
export const CM_IOCTL_GET_FEATURE_REQUEST = scardCtlCode(3400);

/** Feature tags of PC/SC part 10 (§2.3) that this host looks at. */
export const PCSC_FEATURE = Object.freeze({
  VERIFY_PIN_DIRECT: 0x06,
  MODIFY_PIN_DIRECT: 0x07,
  IFD_PIN_PROPERTIES: 0x0a,
  ABORT: 0x0b,
  GET_TLV_PROPERTIES: 0x12,
});

/** The most features a reader may list (tags are one byte, each at most once). */
const MAX_FEATURES = 255;

/**
 * Parse a reader's answer to CM_IOCTL_GET_FEATURE_REQUEST into tag → control code. The answer comes
 * from a device (outside input) and is parsed strictly: every TLV must have length 4, no tag may
 * repeat, tag 0 and control code 0 are refused, nothing may trail. Any deviation is a DecodeError
 * (PCSC_FEATURES_INVALID): the host then treats the reader as one without a PIN pad. An empty answer
 * is a reader with no features (vsmartcard's vpcd answers so, or refuses the request).
 */
export function parsePcscFeatures(answer: Uint8Array): Map<number, number> {
  const bad = (why: string) =>
    new DecodeError(
      'PCSC_FEATURES_INVALID',
      `the reader's PC/SC part 10 feature list does not parse: ${why}`,
      'the reader is used without its PIN pad (the customer types the PIN on the customer display); update its firmware or driver',
    );
  if (answer.length > MAX_FEATURES * 6) throw bad(`${answer.length} bytes is more than ${MAX_FEATURES} features`);
  const features = new Map<number, number>();
  for (let i = 0; i < answer.length; i += 6) {
    if (answer.length - i < 6) throw bad(`${answer.length - i} bytes left over at offset ${i}, a TLV is 6`);
    const tag = answer[i]!;
    const len = answer[i + 1]!;
    if (len !== 4) throw bad(`tag 0x${hex(tag)} has length ${len}, not 4`);
    if (tag === 0) throw bad(`tag 0 at offset ${i}`);
    if (features.has(tag)) throw bad(`tag 0x${hex(tag)} appears twice`);
    const code = ((answer[i + 2]! << 24) | (answer[i + 3]! << 16) | (answer[i + 4]! << 8) | answer[i + 5]!) >>> 0;
    if (code === 0) throw bad(`tag 0x${hex(tag)} has control code 0`);
    features.set(tag, code);
  }
  return features;
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

/** Offsets of PIN_VERIFY_STRUCTURE (pcsc-lite reader.h, packed): a 19-byte header, then the APDU. */
export const PIN_VERIFY = Object.freeze({
  bTimerOut: 0,
  bTimerOut2: 1,
  bmFormatString: 2,
  bmPINBlockString: 3,
  bmPINLengthFormat: 4,
  wPINMaxExtraDigit: 5, // 2 bytes, little-endian: (min << 8) | max
  bEntryValidationCondition: 7,
  bNumberMessage: 8,
  wLangId: 9, // 2 bytes, little-endian
  bMsgIndex: 11,
  bTeoPrologue: 12, // 3 bytes, 00 (the driver fills them for T=1 TPDU readers)
  ulDataLength: 15, // 4 bytes, little-endian: the APDU's length
  abData: 19,
});

/** The ISO VERIFY the pad sends, before it fills the PIN block: `00 20 00 80 08` + format 2 block `2N FF…`. */
export const VERIFY_TEMPLATE = Object.freeze([
  0x00, 0x20, 0x00, 0x80, 0x08, 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
]);

/** Language ids (USB LANGID) for the reader's own prompt, where it has one in that language. */
export const LANG_ID = Object.freeze({ enUS: 0x0409, zhCN: 0x0804 });

export interface PinVerifyOptions {
  /** Seconds the reader waits for the PIN (bTimerOut, 1–255; 0 would mean the reader's own default). */
  timeoutS: number;
  /** The prompt's language (USB LANGID). Readers without it show their default. */
  langId?: number;
}

/**
 * PIN_VERIFY_STRUCTURE for ISO VERIFY with a format 2 PIN block (docs/protocol.md §2.4). It tells the
 * reader where in the APDU template the PIN goes and how it is coded. The template's data field is
 * the 8-byte block `2N D1D2 … FF` with N = 0 and all digits F; the reader writes:
 *
 * - the digits: bmFormatString = 0x41 =
 *     bit 7     0      positions below count in bits (the length nibble needs bit resolution);
 *     bits 6-3  1000   the PIN starts 8 bits into the block (after the `2N` byte);
 *     bit 2     0      left-justified (digits first, the F padding after them);
 *     bits 1-0  01     BCD, one digit per nibble.
 * - the block size and the length: bmPINBlockString = 0x48 =
 *     bits 7-4  0100   the PIN length is a 4-bit field in the block (the N of `2N`);
 *     bits 3-0  1000   the PIN block is 8 bytes (so Lc stays 08 whatever the PIN length).
 * - where the length goes: bmPINLengthFormat = 0x04 =
 *     bit 4     0      position in bits;
 *     bits 3-0  0100   4 bits into the block: the low nibble of the first byte.
 *
 * Bytes the reader does not overwrite keep the template's value, so the unused digit nibbles stay F
 * (the format 2 filler) and the `2` control nibble stays. wPINMaxExtraDigit = 0x040C: 4 to 12
 * digits, the card's PIN rule (§6.2); bEntryValidationCondition = 0x02: the customer confirms with
 * the OK key; bNumberMessage = 0x01: the reader shows its one "enter PIN" prompt. The 16- and 32-bit
 * fields are little-endian, as the CCID driver takes them (it byte-swaps only on big-endian hosts).
 */
export function buildPinVerifyStructure(o: PinVerifyOptions): Uint8Array {
  if (!Number.isInteger(o.timeoutS) || o.timeoutS < 1 || o.timeoutS > 255)
    throw new EncodeError('PIN_PAD_TIMEOUT', `bTimerOut is 1 to 255 s, not ${o.timeoutS}`, 'clamp the time-out');
  const langId = o.langId ?? LANG_ID.enUS;
  const apdu = VERIFY_TEMPLATE;
  const s = new Uint8Array(PIN_VERIFY.abData + apdu.length);
  s[PIN_VERIFY.bTimerOut] = o.timeoutS;
  s[PIN_VERIFY.bTimerOut2] = 0; // "after the first key": the driver ignores it; bTimerOut rules
  s[PIN_VERIFY.bmFormatString] = 0x41;
  s[PIN_VERIFY.bmPINBlockString] = 0x48;
  s[PIN_VERIFY.bmPINLengthFormat] = 0x04;
  s[PIN_VERIFY.wPINMaxExtraDigit] = PIN_MAX; // YY: maximum digits (low byte first)
  s[PIN_VERIFY.wPINMaxExtraDigit + 1] = PIN_MIN; // XX: minimum digits
  s[PIN_VERIFY.bEntryValidationCondition] = 0x02;
  s[PIN_VERIFY.bNumberMessage] = 0x01;
  s[PIN_VERIFY.wLangId] = langId & 0xff;
  s[PIN_VERIFY.wLangId + 1] = (langId >> 8) & 0xff;
  s[PIN_VERIFY.bMsgIndex] = 0x00;
  // bTeoPrologue: 3 zero bytes (already 0)
  s[PIN_VERIFY.ulDataLength] = apdu.length; // < 256: the upper three bytes stay 0
  s.set(apdu, PIN_VERIFY.abData);
  return s;
}

/** What a PIN pad's answer to FEATURE_VERIFY_PIN_DIRECT means. */
export type PinPadAnswer =
  | { result: 'verified' }
  | { result: 'wrong'; triesLeft: number }
  | { result: 'blocked' }
  | { result: 'timeout' }
  | { result: 'cancelled' }
  /** 6403: the reader refused what was typed as too short or too long; the card saw nothing. */
  | { result: 'bad_length' }
  /** Any other answer: the card or the reader refused the command (a wrong structure, wrong state…). */
  | { result: 'refused'; sw: number };

/**
 * Read a PIN pad's answer: 2 bytes, the card's status word or the reader's own 64xx. Anything else
 * (no bytes, data before the status word) is a DecodeError (PIN_PAD_ANSWER_INVALID).
 */
export function readPinPadAnswer(answer: Uint8Array): PinPadAnswer {
  if (answer.length !== 2)
    throw new DecodeError(
      'PIN_PAD_ANSWER_INVALID',
      `the reader answered the PIN entry with ${answer.length} bytes, not a 2-byte status word`,
      'the reader does not do PC/SC part 10 PIN entry as it claims: use it without its PIN pad',
    );
  const sw = (answer[0]! << 8) | answer[1]!;
  if (sw === 0x9000) return { result: 'verified' };
  if ((sw & 0xfff0) === 0x63c0) return { result: 'wrong', triesLeft: sw & 0x0f };
  if (sw === 0x6983) return { result: 'blocked' };
  if (sw === 0x6400) return { result: 'timeout' };
  if (sw === 0x6401) return { result: 'cancelled' };
  if (sw === 0x6403) return { result: 'bad_length' };
  return { result: 'refused', sw };
}
