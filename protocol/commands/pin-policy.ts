import { isValidPin } from './pin.js';

/**
 * Which new PINs a holder may choose (the host's display keypad and a terminal's pad apply the same
 * rule). The card accepts any 4 to 12 digits; issuers refuse the PINs a thief tries first, as banks
 * do: one digit repeated (0000, 999999) and a straight run up or down (1234, 98765, 0123).
 */
export type NewPinProblem = 'format' | 'repeated' | 'sequence' | 'unchanged';

/** Why `pin` may not become the new PIN, or undefined when it may. `old` is the PIN it replaces, when known. */
export function newPinProblem(pin: Uint8Array, old?: Uint8Array): NewPinProblem | undefined {
  if (!isValidPin(pin)) return 'format';
  const d = Array.from(pin, (b) => b - 0x30);
  if (d.every((x) => x === d[0])) return 'repeated';
  const step = d[1]! - d[0]!;
  if ((step === 1 || step === -1) && d.every((x, i) => i === 0 || x - d[i - 1]! === step)) return 'sequence';
  if (old !== undefined && old.length === pin.length && old.every((b, i) => b === pin[i])) return 'unchanged';
  return undefined;
}
