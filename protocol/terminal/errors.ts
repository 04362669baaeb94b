import { CardpostError } from '../errors.js';

/**
 * Stable codes of the serial terminal link and message layer (docs/protocol.md §13). Each has a
 * meaning (for the spec and logs) and a hint (what a person can do).
 */
export const TERMINAL_LINK_ERRORS = Object.freeze({
  LINK_RETRY_LIMIT: {
    meaning:
      'a DATA frame was sent and retransmitted the maximum number of times without an ACK: the peer is gone, or the line too noisy',
    hint: 'check that the terminal is powered and plugged in and the cable is sound; the host reconnects by itself',
  },
  LINK_MESSAGE_TOO_LARGE: {
    meaning: 'a message is larger than the link carries (maxMessageSize), on sending or in reassembly',
    hint: 'send shorter messages (e.g. shorter APDUs, fewer display or receipt lines)',
  },
  LINK_QUEUE_FULL: {
    meaning: 'too many messages are waiting for the link (maxQueue): the peer does not acknowledge fast enough',
    hint: 'the terminal is not keeping up or is gone; wait for it to reconnect',
  },
  LINK_BAD_FRAGMENT: {
    meaning:
      'a DATA frame whose link byte is malformed (empty payload, reserved bits set) or a continuation without a first fragment',
    hint: 'the peer speaks a different link version, or frames were lost; the link drops the fragment and recovers by itself',
  },
  LINK_PARTIAL_DROPPED: {
    meaning: 'a message in reassembly was abandoned because a new message started (the sender gave up on the old one)',
    hint: 'line trouble; the requester re-sends the message under the same requestId',
  },
  LINK_CLOSED: {
    meaning: 'the serial port closed (unplugged, pty gone) while messages were waiting',
    hint: 'the host reopens the port with backoff; re-plug the terminal if it does not come back',
  },
  MSG_INVALID: {
    meaning: 'a reassembled message is not canonical CBOR or does not match the message schema of §13.4',
    hint: 'the peer speaks a different message version; the receiver answers ERROR BAD_MESSAGE when it can read the requestId',
  },
  REQUEST_TIMEOUT: {
    meaning: 'no response to a request before its deadline, although it was re-sent under the same requestId',
    hint: 'the terminal is busy, gone or the line is very noisy; retrying with the same requestId is always safe',
  },
  REQUEST_REFUSED: {
    meaning: 'the peer answered a request with ERROR (the code and message say why)',
    hint: 'see the ERROR code in §13.6',
  },
} as const satisfies Record<string, { meaning: string; hint: string }>);

export type TerminalLinkErrorCode = keyof typeof TERMINAL_LINK_ERRORS;

/** A failure of the serial terminal link or its messages; `code` is one of TERMINAL_LINK_ERRORS. */
export class TerminalLinkError extends CardpostError {
  constructor(code: TerminalLinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, TERMINAL_LINK_ERRORS[code].hint, options);
  }
}
