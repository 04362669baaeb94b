import { CardpostError } from '../errors.js';

/** ISO 7816-4 §5.6 status words this protocol uses, by name. */
export const SW = {
  OK: 0x9000,
  WARNING_NVM_UNCHANGED: 0x6200,
  WARNING_END_OF_DATA: 0x6282,
  WARNING_SELECTED_FILE_INVALIDATED: 0x6283,
  VERIFY_FAILED: 0x6300,
  MEMORY_FAILURE: 0x6581,
  WRONG_LENGTH: 0x6700,
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  SECURE_MESSAGING_NOT_SUPPORTED: 0x6882,
  LAST_COMMAND_OF_CHAIN_EXPECTED: 0x6883,
  CHAINING_NOT_SUPPORTED: 0x6884,
  COMMAND_NOT_ALLOWED: 0x6900,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  WRONG_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  NOT_ENOUGH_MEMORY: 0x6a84,
  INCORRECT_P1P2: 0x6a86,
  LC_INCONSISTENT_WITH_P1P2: 0x6a87,
  REFERENCE_DATA_NOT_FOUND: 0x6a88,
  WRONG_P1P2: 0x6b00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  UNKNOWN: 0x6f00,
} as const;

const MEANINGS = new Map<number, string>([
  [0x9000, 'success'],
  [0x6200, 'warning: non-volatile memory unchanged'],
  [0x6282, 'warning: end of data reached before Le bytes'],
  [0x6283, 'warning: selected application invalidated (terminated)'],
  [0x6300, 'verification failed'],
  [0x6581, 'memory failure (card write failed)'],
  [0x6700, 'wrong length'],
  [0x6881, 'logical channel not supported'],
  [0x6882, 'secure messaging not supported'],
  [0x6883, 'last command of the chain expected'],
  [0x6884, 'command chaining not supported'],
  [0x6900, 'command not allowed'],
  [0x6982, 'security status not satisfied (PIN not verified)'],
  [0x6983, 'authentication method blocked (PIN blocked)'],
  [0x6984, 'reference data not usable'],
  [0x6985, 'conditions of use not satisfied'],
  [0x6a80, 'incorrect parameters in the data field'],
  [0x6a81, 'function not supported'],
  [0x6a82, 'application or file not found'],
  [0x6a84, 'not enough memory space'],
  [0x6a86, 'incorrect parameters P1-P2'],
  [0x6a87, 'Lc inconsistent with P1-P2'],
  [0x6a88, 'referenced data not found'],
  [0x6b00, 'wrong parameters P1-P2'],
  [0x6d00, 'instruction not supported'],
  [0x6e00, 'class not supported'],
  [0x6f00, 'no precise diagnosis'],
]);

/** A human-readable meaning for any status word, including the parameterised ones (61xx, 6Cxx, 63Cx). */
export function describeStatusWord(sw: number): string {
  const known = MEANINGS.get(sw);
  if (known) return known;
  const s1 = sw >> 8,
    s2 = sw & 0xff;
  if (s1 === 0x61) return `${s2 === 0 ? '256 or more' : s2} response bytes still available (GET RESPONSE)`;
  if (s1 === 0x6c) return `wrong Le: exactly ${s2 === 0 ? 256 : s2} bytes available`;
  if (s1 === 0x63 && (s2 & 0xf0) === 0xc0)
    return `verification failed, ${s2 & 0x0f} ${(s2 & 0x0f) === 1 ? 'try' : 'tries'} left`;
  if (s1 === 0x62) return 'warning: NVM unchanged';
  if (s1 === 0x64) return 'execution error: NVM unchanged';
  if (s1 === 0x65) return 'execution error: NVM changed';
  if (s1 === 0x67) return 'wrong length';
  if (s1 === 0x68) return 'function in CLA not supported';
  if (s1 === 0x69) return 'command not allowed';
  if (s1 === 0x6a) return 'wrong parameters';
  return 'unknown status';
}

export function formatStatusWord(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** PIN tries left from a 63Cx status, or undefined when sw is not of that form. */
export function retriesFromStatusWord(sw: number): number | undefined {
  return (sw & 0xfff0) === 0x63c0 ? sw & 0x0f : undefined;
}

/** The card answered with a status word other than success. */
export class ApduStatusError extends CardpostError {
  readonly sw: number;
  constructor(sw: number, what: string, hint = 'see docs/protocol.md for this status word') {
    super('APDU_STATUS', `${what}: card returned ${formatStatusWord(sw)} (${describeStatusWord(sw)})`, hint);
    this.sw = sw;
  }
}
