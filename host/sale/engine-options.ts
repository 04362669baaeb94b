import type { CardpostError } from '../../protocol/errors.js';
import type { SignedTxnRecord, TrustStore } from '../../protocol/record/index.js';
import type { CardReader } from '../../protocol/transport.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import type { HostStore } from '../store/host-store.js';
import type { ClockProblem } from './clock-check.js';
import type { OfflineLimits } from './offline-limits.js';
import type { SaleTimers } from './sale-timers.js';
import type { SaleSnapshot } from './sale-types.js';

export interface SaleTimeouts {
  /** How long a sale waits for the card (inserted, tapped, put back after a pull). */
  cardMs: number;
  /** How long the customer has for each PIN entry. */
  pinMs: number;
  /**
   * How long a sale started by an API client lives without that client (or an open counter page)
   * following it (follow-lease.ts). Default 5 s.
   */
  followMs?: number;
}

/** Test hooks for fault scenarios; never set in production config. */
export interface SaleFaultHooks {
  /** Called after the card signed and the record checked out, before the SQLite commit. */
  afterSign?: (record: SignedTxnRecord) => void;
}

export interface SaleEngineOptions {
  store: HostStore;
  trust: TrustStore;
  hub: ReaderHub;
  merchantId: string;
  terminalId: string;
  currency: number;
  timeouts: SaleTimeouts;
  limits: OfflineLimits;
  /** Whether the bank answers now (shown on the receipt). */
  online: () => boolean;
  clock?: () => number;
  /** Clock and timers together (tests run sales on fake time); default: real timers over `clock`. */
  timers?: SaleTimers;
  /** Whether the clock may date a sale now (clock-check.ts); a problem refuses new sales with CLOCK_WRONG. */
  clockProblem?: () => ClockProblem | undefined;
  faults?: SaleFaultHooks;
  /** A card refused as revoked is blocked on the card when the bank answers (revoked-card.ts); absent: refused only. */
  revoked?: { refuse(reader: CardReader, refusal: CardpostError): Promise<CardpostError> };
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface SaleEngineEvents {
  sale: [SaleSnapshot];
  recovered: [{ recordId: string; cardId: string; saleId: string | null }];
  stored: [{ recordId: string; saleId: string | null; amount: number; currency: number }];
}
