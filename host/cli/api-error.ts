import { CardpostError } from '../../protocol/errors.js';

/**
 * The daemon answered with an error (its code, message and hint come through unchanged). Its own
 * module, free of the daemon's imports, so the CLI's entry can classify it without loading them.
 */
export class ApiError extends CardpostError {
  constructor(
    code: string,
    message: string,
    hint: string,
    readonly status: number,
  ) {
    super(code, message, hint);
  }
}
