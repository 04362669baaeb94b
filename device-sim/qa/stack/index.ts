/** The QA stack (docs/qa.md "The stack"): everything one scenario runs on, brought up and taken down. */
export { startStack, Stack, type StackReader } from './stack.js';
export { PcscQaReader } from './reader-pcsc.js';
export { SerialQaReader } from './reader-serial.js';
export { HidQaReader } from './reader-hid.js';
export { DaemonProcess } from './daemon-process.js';
export { StackBank } from './bank.js';
export { StackCard, seededCardId, DEFAULT_CARD_LIMITS } from './cards.js';
export { QA_ERRORS, minorUnits } from './stack-errors.js';
export { missingPcscParts } from './pcscd.js';
