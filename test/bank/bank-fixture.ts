/**
 * A bank of a target (bank-targets.ts) with a terminal to talk to it: what each contract test starts
 * with. The terminal is T-01 of the bank's issuer; `clock` drives both the bank and the terminal.
 */
import type { Certificate, SigningKey } from '../../protocol/record/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { TestIssuer } from '../support/issuer.js';
import type { BankTarget, BankUnderTest } from './bank-targets.js';

export interface Fixture {
  issuer: TestIssuer;
  bank: BankUnderTest;
  url: string;
  term: { key: SigningKey; certificate: Certificate };
  client: BankTerminalClient;
}

export interface BankFixtures {
  start(extra?: { clock?: () => number }, issuer?: TestIssuer): Promise<Fixture>;
  stop(f: Fixture | undefined): Promise<void>;
}

export function bankFixtures(target: BankTarget): BankFixtures {
  return {
    async start(extra = {}, issuer = new TestIssuer()) {
      const bank = await target.start({ issuer, ...(extra.clock ? { clock: extra.clock } : {}) });
      const term = issuer.terminal('T-01');
      const client = new BankTerminalClient({
        baseUrl: bank.url,
        ...term,
        ...(extra.clock ? { clock: extra.clock } : {}),
      });
      return { issuer, bank, url: bank.url, term, client };
    },
    async stop(f) {
      await f?.bank.close();
    },
  };
}
