import type { ErrorDef } from './types.js';
import { def } from './codes-def.js';

/**
 * The issuer's clearing service (host/clearing, docs/clearing.md): `cardpost bank serve`, its ledger
 * on PostgreSQL or SQLite, and its HTTP answers beyond those the simulated bank shares (bank-api.md §10).
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
  CLEARING_DB_REFUSED: def(
    null,
    'bad-input',
    'the database will not serve this service as configured (role, password, database name, permissions, or a SQLite path that cannot be opened): fix --postgres / --db; waiting would not help',
  ),
  BANK_LISTEN_FAILED: def(
    null,
    'unavailable',
    'choose a free port, or an address of this machine, for --listen / --iso8583-listen',
  ),
  BANK_START_FAILED: def(
    null,
    'fault',
    'an API process could not start, or kept dying right after starting: read the lines before this one, fix the cause and start again',
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
  ROUTE_NOT_SERVED: def(
    501,
    'unavailable',
    'the clearing service settles offline sales only: send top-ups, refunds, lost-card reports, block orders and record status to the issuer bank',
  ),
  CARD_ID_INVALID: def(400, 'bad-input', 'give the card id as 16 hex digits, as printed on the card statement'),
  BANK_CONFIG: def(
    null,
    'bad-input',
    'fix the bank configuration: the authority must be a kind 4 certificate of this issuer with its own key, and the settlement window positive',
  ),
  CLEARING_BATCH_INVALID: def(
    500,
    'fault',
    'the verifier handed the ledger a malformed batch: a bug; report it with the batch id (nothing was written)',
  ),
};
