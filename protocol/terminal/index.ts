/**
 * The serial POS terminal protocol (docs/protocol.md §13), pure and I/O-free: the link layer over
 * the §10 frames (SerialLink), the message set (encodeMessage/decodeMessage), duplicate suppression
 * by requestId (RequestCache) and the request/response channel both ends run (TerminalChannel).
 */
export { TERMINAL_LINK_ERRORS, TerminalLinkError } from './errors.js';
export type { TerminalLinkErrorCode } from './errors.js';
export { SerialLink, LINK_MORE, LINK_CONT, LINK_SYNC } from './link.js';
export type { SerialLinkOptions, SerialLinkStats, LinkEvent } from './link.js';
export {
  TERMINAL_PROTOCOL_VERSION,
  MSG,
  MAX_REQUEST_ID,
  LIMITS,
  SALE_OUTCOMES,
  SALE_STATUSES,
  BEEP_TONES,
  CARD_EVENTS,
  PRINT_KINDS,
  TERMINAL_ERROR_CODES,
  RESPONSE_FOR,
  isRequest,
  isResponse,
  answers,
  messageFields,
  encodeMessage,
  decodeMessage,
  peekRequest,
} from './messages.js';
export type {
  MessageType,
  TerminalMessage,
  MessageOf,
  RequestType,
  RequestMessage,
  ResponseMessage,
  TerminalCapabilities,
  SaleOutcome,
  SaleStatus,
  PinOutcomeName,
  TerminalErrorCode,
} from './messages.js';
export { RequestCache } from './request-cache.js';
export type { CacheLookup } from './request-cache.js';
export { TerminalChannel } from './channel.js';
export type {
  TerminalChannelOptions,
  ChannelEvent,
  ChannelStats,
  OutgoingRequest,
  OutgoingResponse,
} from './channel.js';
export {
  PIN_ENTRY_MODES,
  PIN_OUTCOMES,
  PIN_TIMEOUT,
  isPinServiceMode,
  isPinVerify,
  pinOutcomeFromSw,
  pinChangeOutcomeFromSw,
  pinEntryOutcome,
  pinChangeOutcome,
} from './pin-entry.js';
export type { PinEntryMode, PinEntryFields, PinVerifyFields, PinServiceFields, PinResultFields } from './pin-entry.js';
