import { decodeCommandApdu, encodeResponseApdu, exchange } from '../../protocol/apdu/index.js';
import type { CardInfo } from '../../protocol/commands/index.js';
import { recordId } from '../../protocol/record/index.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { checkRawApdu } from '../session/raw-apdu-policy.js';
import { withCard, type CardOpener } from './card-opening.js';
import { SaleRefusedError } from './offline-limits.js';

/** The life-cycle states by name, as docs/protocol.md §6.1 names them. */
export const LIFECYCLE_NAMES = ['blank', 'personalised', 'active', 'pinBlocked', 'terminated', 'blocked'] as const;
export type LifecycleName = (typeof LIFECYCLE_NAMES)[number];

export interface CardSummary {
  reader: string;
  cardId: string;
  /** The life-cycle value GET_INFO gives (docs/protocol.md §6.1), kept as a number for scripts. */
  lifecycle: number;
  /** Its name: `personalised` still has the transport PIN (the holder must change it before paying). */
  lifecycleName: LifecycleName | 'unknown';
  balance: number;
  currency: number | null;
  counter: number;
  pinRetries: number;
  offlineAmount: number;
  offlineCount: number;
  limits: CardInfo['limits'] | null;
  notAfter: number;
  recovered: string[];
}

/**
 * Looking at a reader's card between sales (`cardpost card info`, `cardpost apdu`). Not part of any sale,
 * but it shares the reader with them: refused while a sale may use the reader, and every look at a card
 * is a card session, so journal recovery runs as it does for a sale.
 */
export class ReaderDiagnostics {
  constructor(
    private readonly o: { hub: ReaderHub; opener: CardOpener; saleMayUse: (readerName: string) => boolean },
  ) {}

  /** Read a card (GET_INFO) with journal recovery. */
  async inspect(readerName: string): Promise<CardSummary> {
    this.mustBeFree(readerName);
    return withCard(this.o.hub, readerName, async (reader) => {
      const { session, recovered } = await this.o.opener.openAndRecover(reader, null);
      const i = session.info;
      return {
        reader: reader.name,
        cardId: session.cardId,
        lifecycle: i.lifecycle,
        lifecycleName: LIFECYCLE_NAMES[i.lifecycle] ?? 'unknown',
        balance: i.balance,
        currency: i.currency ?? null,
        counter: i.counter,
        pinRetries: i.pinRetries,
        offlineAmount: i.offlineAmount,
        offlineCount: i.offlineCount,
        limits: i.limits ?? null,
        notAfter: session.certificate.notAfter,
        recovered: recovered.map((r) => recordId(r)),
      };
    });
  }

  /**
   * Send one APDU to a reader's card. By default 61xx and 6Cxx are followed (GET RESPONSE, Le re-sent) as
   * for every other command; `raw` returns the card's first answer as is.
   */
  async transmitRaw(readerName: string, apdu: Uint8Array, raw = false): Promise<Uint8Array> {
    this.mustBeFree(readerName);
    const cmd = decodeCommandApdu(apdu); // malformed input is refused before the card sees it
    checkRawApdu(cmd); // reads only: nothing that signs, loads, verifies or changes a PIN, or personalises
    return withCard(this.o.hub, readerName, async (reader) => {
      if (raw) return reader.transmit(apdu);
      const res = await exchange(reader, cmd, { extendedLength: reader.extendedLength });
      return encodeResponseApdu(res.data, res.sw);
    });
  }

  private mustBeFree(readerName: string): void {
    if (!this.o.hub.get(readerName)) {
      throw new SaleRefusedError(
        'READER_UNKNOWN',
        `no reader named "${readerName}" is connected`,
        'list the readers with `cardpost readers`',
      );
    }
    if (this.o.saleMayUse(readerName))
      throw new SaleRefusedError('READER_BUSY', `a sale is using ${readerName}`, 'finish or cancel the sale first');
  }
}
