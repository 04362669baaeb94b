/** The simulated bank (docs/bank-api.md). Imports protocol/ only. */
export {
  SimBank,
  MAX_BODY_BYTES,
  MAX_RECORDS_PER_BATCH,
  MAX_CERTIFICATES_PER_BATCH,
  DEFAULT_VALID_FOR_PAYMENTS,
} from './sim-bank.js';
export type { SimBankOptions, BankAddress } from './sim-bank.js';
export type { FaultConfig, EffectiveFaults } from './faults.js';
export { REJECT_REASON, RECORD_FUTURE_SKEW_S } from './settle.js';
export type { RejectReason, Verdict, RecordResult, BatchResponse } from './settle.js';
export type { SettledRow, EvidenceRow, CurrencyTotal } from './ledger.js';
export {
  AUTH_HEADER,
  MAX_CLOCK_SKEW_S,
  canonicalRequestString,
  signTerminalRequest,
  verifyTerminalSignature,
  toBase64url,
  fromBase64url,
} from '../../protocol/bank/terminal-auth.js';
export type { CanonicalRequest, SignTerminalRequestInput } from '../../protocol/bank/terminal-auth.js';
export { BankTerminalClient } from './terminal-client.js';
export type { BankResponse, BankRequestOptions } from './terminal-client.js';
