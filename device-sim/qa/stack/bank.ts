import { join } from 'node:path';
import type { Certificate, SigningKey } from '../../../protocol/record/index.js';
import { SimBank } from '../../bank/index.js';
import type { QaBank } from '../qa-types.js';
import type { BankFaults } from '../scenario-schema.js';

/** The scenario's bank faults as the simulated bank takes them (unset fields: no fault). */
function toFaultConfig(f: BankFaults) {
  return {
    down: f.down ?? false,
    latencyMs: f.latencyMs ?? 0,
    errorRate: f.errorRate ?? 0,
    timeoutRate: f.timeoutRate ?? 0,
    dropAfterCommitRate: f.dropAfterCommitRate ?? 0,
  };
}

/**
 * The simulated bank in the runner's process (so the runner reads its ledger and sets its faults
 * directly): its SQLite ledger in the stack's directory, trusting the scenario's issuer.
 */
export class StackBank implements QaBank {
  private constructor(
    readonly bank: SimBank,
    readonly url: string,
    private readonly cardIds: () => string[],
    private readonly log: (text: string) => void,
  ) {}

  static async start(o: {
    dir: string;
    issuer: { ca: { certificate: Certificate }; authority: { key: SigningKey; certificate: Certificate } };
    faults: BankFaults;
    seed: number;
    cardIds: () => string[];
    log: (text: string) => void;
  }): Promise<StackBank> {
    const bank = new SimBank({
      dbPath: join(o.dir, 'bank.sqlite'),
      issuerCertificate: o.issuer.ca.certificate,
      authority: o.issuer.authority,
      faults: { ...toFaultConfig(o.faults), seed: o.seed >>> 0 },
    });
    const { url } = await bank.listen({ host: '127.0.0.1', port: 0 });
    const b = new StackBank(bank, url, o.cardIds, o.log);
    o.log(`listening on ${url}${hasFaults(o.faults) ? `, faults ${JSON.stringify(o.faults)}` : ''}`);
    return b;
  }

  setFaults(f: BankFaults): void {
    this.bank.setFaults(toFaultConfig(f));
    this.log(hasFaults(f) ? `faults set: ${JSON.stringify(f)}` : 'faults cleared');
  }

  settled(): { cardId: string; counter: number; amount: number; kind: string }[] {
    return this.cardIds()
      .flatMap((id) => this.bank.settledRecords(id))
      .map((r) => ({
        cardId: r.cardId,
        counter: r.counter,
        amount: r.amount,
        kind: r.reverses !== undefined ? 'reversal' : 'sale',
      }))
      .sort((a, b) => (a.cardId === b.cardId ? a.counter - b.counter : a.cardId < b.cardId ? -1 : 1));
  }

  revokedCards(): string[] {
    return this.bank.revokedCards();
  }

  close(): Promise<void> {
    return this.bank.close();
  }
}

function hasFaults(f: BankFaults): boolean {
  return Object.values(f).some((v) => v !== undefined && v !== false && v !== 0);
}
