/**
 * Every error this project raises derives from CardpostError: a stable machine-readable `code`
 * (never reworded once published), a message that says what happened, and a `hint` that says
 * what a person can do about it. Callers switch on `code`, never on message text.
 */
export class CardpostError extends Error {
  readonly code: string;
  readonly hint: string;

  constructor(code: string, message: string, hint = '', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }

  /** One line for logs and CLIs: "CODE: message (hint)". */
  describe(): string {
    return this.hint ? `${this.code}: ${this.message} — ${this.hint}` : `${this.code}: ${this.message}`;
  }
}

/** Bytes from outside (APDU, CBOR, frame, HID report, record, certificate) that do not parse or validate. */
export class DecodeError extends CardpostError {}

/** A caller passed something the API cannot encode (programming error or bad user input). */
export class EncodeError extends CardpostError {}

/** Cryptographic failure other than "signature did not verify" (which is a boolean result). */
export class CryptoError extends CardpostError {}
