/** The bank API's error answers (docs/bank-api.md §10), for every bank front end. */
import { CardpostError } from '../errors.js';
import { MAX_BODY_BYTES } from './batch.js';

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

/** fastify's own client errors (body too large, wrong media type…) answered with the API's codes and hints. */
export const FASTIFY_CLIENT_ERRORS: Readonly<Record<string, readonly [code: string, hint: string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['BODY_TOO_LARGE', `bodies are limited to ${MAX_BODY_BYTES} bytes; split the batch`],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['CONTENT_LENGTH_INVALID', 'Content-Length must match the body'],
  FST_ERR_CTP_INVALID_TYPE: ['CONTENT_TYPE_INVALID', 'send Content-Type: application/json'],
};
