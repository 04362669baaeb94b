/**
 * The clearing service passes the same black-box bank contract as the simulated bank (issue 18: "the
 * existing black-box bank suite runs against both backends unchanged"): once on a SQLite ledger, once
 * on PostgreSQL (a throwaway server for this file, a schema per bank; without PostgreSQL that half is
 * skipped, and fails under REQUIRE_SYSTEM=1).
 */
import { bankContract } from './bank-contract.js';
import { clearingPgTarget, clearingSqliteTarget } from './bank-targets.js';

bankContract(clearingSqliteTarget);
bankContract(clearingPgTarget());
