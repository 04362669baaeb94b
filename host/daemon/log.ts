import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that must never reach a log line, whatever a caller passes: PINs, PUKs, keys, the API
 * token, authorisation headers. Belt and braces — the code does not log them in the first place;
 * the redaction is for the day someone logs a whole request or config object.
 */
export const REDACT_PATHS = [
  'pin',
  '*.pin',
  'puk',
  '*.puk',
  'newPin',
  '*.newPin',
  'privateKey',
  '*.privateKey',
  'key',
  '*.key',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-cardpost-signature"]',
  'body.pin',
  'req.body.pin',
];

/** JSON lines on stderr (or `destination`), with secrets redacted. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'cardpost' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (destination ?? pino.destination(2)) as pino.DestinationStream,
  );
}
