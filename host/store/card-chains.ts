import { toHex } from '../../protocol/bytes.js';
import type { SignedTxnRecord } from '../../protocol/record/index.js';
import type { Db } from './database.js';
import { guardWrite } from './store-errors.js';
import { u8, type ChainHeadRow, type HeadSource } from './store-types.js';

/**
 * Each card's hash chain as this host knows it (table `card_heads`) and the card certificates
 * (`card_certificates`), sent with a card's records until a batch carrying them is answered.
 * The head only moves forward, except one that rests on an unsigned observation (security.md:
 * unsigned values never refuse a genuine card).
 */
export class CardChains {
  private readonly s;
  private readonly observeTx;

  constructor(
    db: Db,
    private readonly clock: () => number,
  ) {
    this.s = {
      head: db.prepare<[string], { counter: number; hash: Buffer; source: HeadSource }>(
        'SELECT counter, hash, source FROM card_heads WHERE card_id = ?',
      ),
      observe: db.prepare(
        "INSERT INTO card_heads (card_id, counter, hash, source, updated_at) VALUES (?, ?, ?, 'observed', ?) ON CONFLICT DO NOTHING",
      ),
      advance:
        db.prepare(`INSERT INTO card_heads (card_id, counter, hash, source, updated_at) VALUES (@cardId, @counter, @hash, @source, @now)
        ON CONFLICT (card_id) DO UPDATE SET counter = excluded.counter, hash = excluded.hash, source = excluded.source, updated_at = excluded.updated_at
        WHERE excluded.counter > card_heads.counter`),
      // Only an unsigned observation may be moved backwards (security.md: unsigned values never refuse a genuine card).
      replaceObserved:
        db.prepare(`UPDATE card_heads SET counter = @counter, hash = @hash, source = @source, updated_at = @now
        WHERE card_id = @cardId AND source = 'observed'`),
      lastRecordHead: db.prepare<[string], { counter: number; hash: Buffer }>(
        'SELECT counter, hash FROM records WHERE card_id = ? ORDER BY counter DESC LIMIT 1',
      ),
      cert: db.prepare(
        'INSERT INTO card_certificates (card_id, envelope) VALUES (?, ?) ON CONFLICT (card_id) DO UPDATE SET envelope = excluded.envelope, acknowledged = 0 WHERE card_certificates.envelope != excluded.envelope',
      ),
      certToSend: db.prepare<[string], { envelope: Buffer }>(
        'SELECT envelope FROM card_certificates WHERE card_id = ? AND acknowledged = 0',
      ),
      ackCert: db.prepare('UPDATE card_certificates SET acknowledged = 1 WHERE card_id = ?'),
    };
    this.observeTx = db.transaction(
      (cardId: string, counter: number, lastHash: Uint8Array, certificate: Uint8Array) => {
        this.s.observe.run(cardId, counter, lastHash, this.clock());
        this.s.cert.run(cardId, certificate);
      },
    );
  }

  cardHead(cardId: string): ChainHeadRow | undefined {
    const row = this.s.head.get(cardId);
    return row ? { counter: row.counter, hash: u8(row.hash), source: row.source } : undefined;
  }

  /**
   * The first sight of a card: remember where its chain stands (GET_INFO's counter and last hash)
   * before asking it to sign anything. Does nothing if the host already knows the card.
   */
  observeCard(cardId: string, counter: number, lastHash: Uint8Array, certificate: Uint8Array): void {
    guardWrite("the card's first sight", () => this.observeTx.immediate(cardId, counter, lastHash, certificate));
  }

  /** Move a card's head over a verified record that is not ours to settle (another terminal's), seen in its journal. */
  passOver(record: SignedTxnRecord): void {
    this.advanceHead(toHex(record.cardId), { counter: record.counter, hash: record.hash }, 'record');
  }

  /**
   * Move a card's head forward (never backwards): to a verified record (`record`), or to where the card
   * says it stands over records this host does not hold (`observed`: unsigned, so never grounds for refusing the card).
   */
  advanceHead(cardId: string, head: { counter: number; hash: Uint8Array }, source: HeadSource = 'observed'): void {
    guardWrite("the card's chain head", () => this.advanceInTransaction(cardId, head, source, this.clock()));
  }

  /** advanceHead's statement alone, for a caller's transaction (a stored record moves its card's head). */
  advanceInTransaction(
    cardId: string,
    head: { counter: number; hash: Uint8Array },
    source: HeadSource,
    now: number,
  ): void {
    this.s.advance.run({ cardId, counter: head.counter, hash: head.hash, source, now });
  }

  /** Replace a head that rests on an unsigned observation (a record-based head is never moved back). */
  replaceObservedHead(cardId: string, head: { counter: number; hash: Uint8Array }, source: HeadSource): void {
    guardWrite("the card's chain head", () =>
      this.s.replaceObserved.run({ cardId, counter: head.counter, hash: head.hash, source, now: this.clock() }),
    );
  }

  /** The newest record of a card stored here (signature verified when it was stored). */
  lastStoredHead(cardId: string): { counter: number; hash: Uint8Array } | undefined {
    const row = this.s.lastRecordHead.get(cardId);
    return row ? { counter: row.counter, hash: u8(row.hash) } : undefined;
  }

  /** The card's certificate, if the bank has not yet acknowledged it (it rides along with the card's records). */
  certificateToSend(cardId: string): Uint8Array | undefined {
    const row = this.s.certToSend.get(cardId);
    return row ? u8(row.envelope) : undefined;
  }

  /** The bank answered a batch carrying the card's certificate (a record accepted or duplicate): stop sending it. */
  acknowledgeCertificate(cardId: string): void {
    this.s.ackCert.run(cardId);
  }
}
