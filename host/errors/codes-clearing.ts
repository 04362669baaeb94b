import type { ErrorDef } from './types.js';
import { def } from './codes-def.js';

/**
 * The issuer's clearing ledger (host/clearing, docs/clearing.md): PostgreSQL or SQLite behind one
 * interface. Not yet served by `cardpost bank serve` (issue #18); the codes are those its API will send.
 */
export const CLEARING: Record<string, ErrorDef> = {
  IDEMPOTENCY_KEY_REUSED: def(
    422,
    'bad-input',
    'this batch id was already settled with another body: send a new batch id for new records (docs/bank-api.md §3)',
  ),
  CLEARING_DB_UNAVAILABLE: def(
    503,
    'retry',
    'the clearing database did not answer: nothing was committed unless an answer was stored, so send the same batch again with the same batch id',
  ),
  CLEARING_DB_VERSION: def(
    503,
    'unavailable',
    'the database schema is newer than this cardpost: upgrade every API process to the same version',
  ),
  CLEARING_CLOSED: def(
    503,
    'unavailable',
    'the ledger was closed (the service is stopping): retry at another API process',
  ),
  CLEARING_BATCH_INVALID: def(
    500,
    'fault',
    'the verifier handed the ledger a malformed batch: a bug; report it with the batch id (nothing was written)',
  ),
};
