import { CardpostError } from '../../protocol/errors.js';

/** An error the bank answers with: HTTP status plus the stable `{ error: { code, message, hint } }` body. */
export class HttpError extends CardpostError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    hint: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message, hint);
  }
}

export function errorBody(code: string, message: string, hint: string): string {
  return JSON.stringify({ error: { code, message, hint } });
}

/** 400 for a request body or query that is not what the API takes. */
export function badRequest(code: string, message: string, hint: string): HttpError {
  return new HttpError(400, code, message, hint);
}
