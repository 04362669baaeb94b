/**
 * The banks the black-box contract (bank-contract.ts) runs against: the simulated bank, and the
 * clearing service on its two ledgers (SQLite, PostgreSQL). Each start() is a bank with nothing in
 * it, trusting the given issuer; what a test reads beside HTTP (settled counts, evidence,
 * revocations) it reads through the bank's own operator methods, never through the HTTP under test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SimBank } from '../../device-sim/bank/index.js';
import { ClearingService } from '../../host/clearing/clearing-service.js';
import { startClearingHttp } from '../../host/clearing/http/clearing-http.js';
import type { BatchToSettle, ClearingLedger } from '../../host/clearing/ledger.js';
import { PgLedger } from '../../host/clearing/pg-ledger.js';
import { SqliteLedger } from '../../host/clearing/sqlite-ledger.js';
import type { TestIssuer } from '../support/issuer.js';
import { ThrowawayPostgres, requirePostgres } from '../support/postgres.js';

export interface EvidenceSeen {
  kind: string;
  settledEnvelope: Uint8Array;
  conflictingEnvelope: Uint8Array;
  cardId: string;
  counter: number;
}

export interface BankUnderTest {
  url: string;
  settledCount(): Promise<number>;
  settledRecords(cardHex: string): Promise<unknown[]>;
  /** Evidence kept against every card, oldest first. */
  evidence(): Promise<EvidenceSeen[]>;
  revokedCards(): Promise<string[]>;
  revokeCard(cardHex: string, reason?: string): Promise<boolean>;
  revocationSequence(): Promise<number>;
  close(): Promise<void>;
}

export interface BankTarget {
  /** Shown in the describe titles, e.g. "simulated bank". */
  name: string;
  /** Serves the card services (records, top-ups, refunds, lost cards, block orders); the clearing service does not. */
  cardServices: boolean;
  /** Once before the target's tests (a server they share); may skip them (`this.skip()`) when a tool is missing. */
  setUp?(ctx: Mocha.Context): Promise<void>;
  tearDown?(): Promise<void>;
  start(o: { clock?: () => number; issuer: TestIssuer }): Promise<BankUnderTest>;
}

const tempDir = (): string => mkdtempSync(path.join(tmpdir(), 'cardpost-bank-'));

export const simTarget: BankTarget = {
  name: 'simulated bank',
  cardServices: true,
  async start({ clock, issuer }) {
    const dir = tempDir();
    const bank = new SimBank({
      dbPath: path.join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
      ...(clock ? { clock } : {}),
    });
    const { url } = await bank.listen({ host: '127.0.0.1', port: 0 });
    return {
      url,
      settledCount: async () => bank.settledCount(),
      settledRecords: async (hex) => bank.settledRecords(hex),
      evidence: async () => bank.evidence(),
      revokedCards: async () => bank.revokedCards(),
      revokeCard: async (hex, reason) => bank.revokeCard(hex, reason),
      revocationSequence: async () => bank.revocationList().sequence,
      async close() {
        await bank.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * The ledger, noting every card a batch names: the ledger reads evidence per card, so "all evidence"
 * is the evidence of every card that ever reached it (a card no batch named has none).
 */
function noteCards(ledger: ClearingLedger): { ledger: ClearingLedger; cards: Set<string> } {
  const cards = new Set<string>();
  const settleBatch = (batch: BatchToSettle) => {
    for (const item of batch.items) if ('record' in item) cards.add(item.record.cardId);
    return ledger.settleBatch(batch);
  };
  const noted = new Proxy(ledger, {
    get: (target, prop) => {
      if (prop === 'settleBatch') return settleBatch;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { ledger: noted, cards };
}

/** The clearing service and its HTTP front end over `ledger`; `dispose` runs after both are closed. */
async function clearingBank(
  opened: ClearingLedger,
  o: { clock?: () => number; issuer: TestIssuer },
  dispose: () => Promise<void>,
): Promise<BankUnderTest> {
  const { ledger, cards } = noteCards(opened);
  const service = new ClearingService({
    ledger,
    issuerCertificate: o.issuer.certificate,
    authority: { key: o.issuer.authorityKey, certificate: o.issuer.authority },
    ...(o.clock ? { clock: o.clock } : {}),
  });
  const http = await startClearingHttp(service, { host: '127.0.0.1', port: 0 });
  return {
    url: http.url,
    settledCount: () => ledger.settledCount(),
    settledRecords: (hex) => ledger.settledRecords(hex),
    async evidence() {
      const all = [];
      for (const card of cards) all.push(...(await ledger.evidence(card)));
      return all;
    },
    revokedCards: () => ledger.revokedCards(),
    revokeCard: (hex, reason) => service.revokeCard(hex, reason),
    revocationSequence: async () => (await service.revocationList()).sequence,
    async close() {
      await http.close();
      await ledger.close();
      await dispose();
    },
  };
}

/** The clearing service on SQLite: a ledger file in a temp directory per start(). */
export const clearingSqliteTarget: BankTarget = {
  name: 'clearing service on SQLite',
  cardServices: false,
  async start(o) {
    const dir = tempDir();
    const ledger = await SqliteLedger.open({ path: path.join(dir, 'clearing.sqlite') });
    return clearingBank(ledger, o, async () => rmSync(dir, { recursive: true, force: true }));
  },
};

/**
 * The clearing service on PostgreSQL: one throwaway server for the target's tests (setUp; the suite
 * fails under REQUIRE_SYSTEM=1 without PostgreSQL), a fresh schema per start().
 */
export function clearingPgTarget(): BankTarget {
  let server: ThrowawayPostgres | undefined;
  let admin: pg.Pool | undefined;
  let schemas = 0;
  return {
    name: 'clearing service on PostgreSQL',
    cardServices: false,
    async setUp(ctx) {
      const bin = requirePostgres(ctx);
      server = await ThrowawayPostgres.start(bin);
      admin = new pg.Pool({ ...server.poolConfig, max: 1 });
    },
    async tearDown() {
      await admin?.end();
      await server?.destroy();
    },
    async start(o) {
      if (!server || !admin) throw new Error('clearingPgTarget.start before setUp');
      const schema = `bank${++schemas}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      const ledger = await PgLedger.open({
        pool: { ...server.poolConfig, options: `-c search_path=${schema}`, max: 4 },
      });
      return clearingBank(ledger, o, async () => {}); // the schema goes with the server: no DROP per test
    },
  };
}
