/**
 * The bank settlement API's wire format (docs/bank-api.md), shared by the host's settlement client
 * and the simulated bank: request signing, and each message as a typed codec whose decoder gives a
 * value or a DecodeError (BANK_DECODE_CODES), never anything else.
 */
export * from './terminal-auth.js';
export { BANK_DECODE_CODES, BankDecodeError, parseJsonBytes, type BankDecodeCode } from './json.js';
export * from './batch.js';
export * from './verdicts.js';
export * from './topup.js';
export * from './lost-card.js';
export * from './block-order.js';
export * from './refund.js';
