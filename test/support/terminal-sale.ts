import { randomBytes } from 'node:crypto';
import { toHex } from '../../protocol/bytes.js';
import { CardStatusError } from '../../protocol/commands/index.js';
import type { SignedTxnRecord, TrustStore } from '../../protocol/record/index.js';
import { CardSession, type ChainHead } from '../../host/session/card-session.js';
import type { SaleRequest, SerialTerminal } from '../../host/transports/serial/index.js';
import { NOW } from './issuer.js';

/**
 * The host side of a sale keyed on a serial terminal, as the tests run it (the daemon's sale flow
 * will be the production version): open a CardSession over the terminal's slot, recover journal
 * records after the head, PIN on the terminal's pad when the amount needs it, SIGN_TXN, "store"
 * the record (in memory here), then answer the terminal with the receipt. Sales are keyed on
 * (terminal serial, requestId): a repeat never signs twice.
 */
export class TestSaleDesk {
  readonly records: SignedTxnRecord[] = [];
  readonly bySale = new Map<string, SignedTxnRecord>();
  readonly errors: unknown[] = [];
  readonly pinOutcomes: string[] = [];
  recovered = 0;
  private heads = new Map<string, ChainHead>();
  private session: CardSession | undefined;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly terminal: SerialTerminal,
    private readonly trust: TrustStore,
    private readonly opts: { merchantId?: string } = {},
  ) {
    terminal.on('saleRequest', (sale) => {
      this.busy = this.busy.then(() => this.handle(sale));
    });
    // A new card contact (insert, reconnect) needs a fresh session, and with it journal recovery.
    terminal.cardReader.on('removed', () => {
      this.session = undefined;
    });
    terminal.cardReader.on('card', () => {
      this.session = undefined;
    });
  }

  private store(r: SignedTxnRecord): void {
    const cardId = toHex(r.cardId);
    const head = this.heads.get(cardId);
    if (head && r.counter <= head.counter) return; // already stored
    this.records.push(r);
    this.heads.set(cardId, { counter: r.counter, hash: r.hash });
  }

  private async openSession(): Promise<CardSession> {
    if (this.session) return this.session;
    const s = await CardSession.open(this.terminal.cardReader, this.trust, { now: NOW() });
    for (const r of await s.recover(this.heads.get(s.cardId))) {
      this.store(r);
      this.recovered++;
    }
    this.session = s;
    return s;
  }

  private async handle(sale: SaleRequest): Promise<void> {
    const key = `${sale.terminalSerial}/${sale.requestId}`;
    const done = this.bySale.get(key);
    if (done) {
      sale.respond(this.answer(done));
      return;
    }
    const request = {
      amount: sale.amount,
      currency: sale.currency,
      merchantId: this.opts.merchantId ?? 'M-0001',
      terminalId: sale.terminalSerial || 'T-serial',
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
    };
    let signSent = false;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const s = await this.openSession();
        if (sale.amount > (s.info.limits?.noPin ?? 0) && !s.info.pinVerified) {
          const pad = this.terminal.cardReader.pinPad;
          const outcome = await pad.enterPin(
            { amount: sale.amount, currency: sale.currency, timeoutMs: 60_000, triesLeft: s.info.pinRetries },
            sale.signal,
          );
          this.pinOutcomes.push(outcome.result);
          if (outcome.result !== 'verified') {
            sale.respond({
              outcome: outcome.result === 'cancelled' ? 'cancelled' : 'declined',
              message: `PIN ${outcome.result}`,
            });
            return;
          }
          s.info.pinVerified = true;
        }
        signSent = true;
        const r = await s.sign(request, this.heads.get(s.cardId));
        this.store(r);
        this.bySale.set(key, r);
        sale.respond(this.answer(r));
        return;
      } catch (e) {
        this.errors.push(e);
        this.session = undefined;
        if (e instanceof CardStatusError) {
          sale.respond({ outcome: 'declined', message: e.code.slice(0, 64) });
          return;
        } // the card signed nothing
        // Lost answer or link trouble: the card may have signed. Recover before saying anything.
        if (!this.terminal.connected) break;
        try {
          const s = await this.openSession();
          const mine = this.records.find(
            (r) => toHex(r.hostNonce) === toHex(request.hostNonce) && toHex(r.cardId) === s.cardId,
          );
          if (mine) {
            this.bySale.set(key, mine);
            sale.respond(this.answer(mine));
            return;
          }
        } catch (e2) {
          this.errors.push(e2);
          this.session = undefined;
        }
      }
    }
    // SIGN_TXN went out and no answer came back: the card may have paid (never "failed").
    sale.respond(
      signSent
        ? { outcome: 'unconfirmed', message: 'Card may have paid: insert it again' }
        : { outcome: 'failed', message: 'card or terminal unavailable' },
    );
  }

  private answer(r: SignedTxnRecord) {
    const receiptId = `${toHex(r.cardId)}-${r.counter}`;
    return {
      outcome: 'approved' as const,
      receiptId,
      message: 'paid / 已付款',
      receipt: [
        'cardpost receipt',
        `card ${toHex(r.cardId)}`,
        `counter ${r.counter}`,
        `amount ${(r.amount / 100).toFixed(2)} ${r.currency}`,
        `receipt ${receiptId}`,
      ],
    };
  }

  /** Wait until every queued sale was handled. */
  idle(): Promise<void> {
    return this.busy;
  }
}
