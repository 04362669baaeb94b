import type { CardpostError } from '../../protocol/errors.js';
import {
  CERTIFICATE_FIELD,
  LINK_CODES,
  MAX_LINK_RECORDS,
  SETTLEMENT_STAN_BASE,
  SIGN_ON_STAN_BASE,
  adviceStan,
  batchUpload,
  decodeVerdictField,
  isoBatchNumber,
  linkDialectNamed,
  macValid,
  offlineAdvice,
  readResponse,
  readTotals,
  reasonOfCode,
  responseMti,
  settlement,
  signOn,
  withFields,
  withMac,
  type BatchTotals,
  type Iso8583Dialect,
  type Iso8583Message,
  type LinkDialectName,
  type Tpdu,
  type VerdictText,
} from '../../protocol/iso8583/index.js';
import { BankError, type BatchAnswer } from './bank-client.js';
import { Iso8583Connection } from './iso8583-connection.js';
import { linkRecords, type LinkRecord } from './iso8583-batch.js';
import { answerOf, asBankError, refusal, SignOnAgain, totalsOf } from './iso8583-answers.js';
import type { SettlementLink } from './settlement-link.js';

export interface Iso8583LinkOptions {
  host: string;
  port: number;
  dialect: LinkDialectName;
  /** Field 41 (8 characters) and field 42 (15), as the acquirer assigned them. */
  terminalId: string;
  merchantId: string;
  /** The terminal's SM4 MAC key (TAK), 16 bytes. */
  macKey: Uint8Array;
  /** The shop's time zone: fields 12 and 13 are the sale's local time. */
  timeZone: string;
  /** CUP framing only: the TPDU addresses and the 6-byte header the acquirer gave. */
  tpdu?: Tpdu;
  header?: Uint8Array;
  /** How long to wait for each answer before the 0221 repeat (or a re-send). Default 5 s. */
  answerTimeoutMs?: number;
  /** Re-sends after a time-out before the batch is given up for now. Default 2. */
  repeats?: number;
  /** New connections (with a new sign-on) within one batch after the line dropped. Default 2. */
  reconnects?: number;
  connectTimeoutMs?: number;
  /** Every frame the link writes, for captures. */
  tap?: (bytes: Uint8Array) => void;
}

const OPERATOR = '001';
/** The batch number a health check signs on with: never a derived one (1..999999). */
const HEALTH_BATCH = 0;

/**
 * The settlement worker's link to an acquirer over ISO 8583 (docs/iso8583.md §7): the same surface
 * as the HTTP BankClient, one stored batch at a time. Per batch: connect and sign on (0800), one
 * offline advice (0220) per record (re-sent as 0221, same STAN, when its answer does not come), the
 * batch totals (0500), and after an out-of-balance 0510 every record again as a batch upload (0320)
 * and the totals once more. Numbers are derived from the batch id and the record's place in it
 * (link-numbers.ts), so a batch re-sent after a crash goes out under the same numbers and the
 * acquirer answers from its store. Every message is MACed with the terminal's key and every answer
 * checked against it.
 */
export class Iso8583Link implements SettlementLink {
  readonly maxBatchRecords = MAX_LINK_RECORDS;
  private readonly dialect: Iso8583Dialect;

  constructor(private readonly o: Iso8583LinkOptions) {
    this.dialect = linkDialectNamed(o.dialect);
  }

  get url(): string {
    return `iso8583://${this.o.host}:${this.o.port}`;
  }

  /** A connection and a sign-on (batch 000000): the acquirer is there and knows this terminal and key. */
  async health(): Promise<{ ok: boolean; problem?: CardpostError }> {
    try {
      const conn = await this.signedOn(HEALTH_BATCH, SIGN_ON_STAN_BASE);
      conn.close();
      return { ok: true };
    } catch (e) {
      return { ok: false, problem: asBankError(e) };
    }
  }

  async submitBatch(batchId: string, body: Uint8Array, expectedRecords: number): Promise<BatchAnswer> {
    const items = linkRecords(body, this.o.timeZone);
    if (items.length !== expectedRecords || items.length > MAX_LINK_RECORDS)
      throw new BankError(
        'BANK_REFUSED_ISO8583_BATCH_INVALID',
        `batch ${batchId} has ${items.length} records (expected ${expectedRecords}, the link carries at most ${MAX_LINK_RECORDS})`,
        'a counter bug: report it with the daemon log',
        'refused',
      );
    // A record the link cannot carry is never answered "rejected" here: that would drop a paid sale.
    // The batch is refused instead (the worker waits and tries again), so the merchant sees it.
    const unsendable = items.find((i) => 'unsendable' in i);
    if (unsendable && 'unsendable' in unsendable)
      throw new BankError(
        'BANK_REFUSED_ISO8583_UNSENDABLE',
        `batch ${batchId}: record ${unsendable.index} cannot be carried over ISO 8583: ${unsendable.unsendable}`,
        'settle this batch over the bank API: set bank.link to "http" until it is settled, then back',
        'refused',
      );
    const batch = isoBatchNumber(batchId);
    const verdicts = new Map<number, VerdictText>();
    const sent = new Set<number>();
    let conn: Iso8583Connection | undefined;
    let signOns = 0;
    let settlements = 0;
    let reconnects = 0;
    // Each step runs on a signed-on connection; a dropped line or a 77 opens a new one and repeats the step.
    const run = async <T>(stepFn: (c: Iso8583Connection) => Promise<T>): Promise<T> => {
      for (;;) {
        conn ??= await this.signedOn(batch, SIGN_ON_STAN_BASE + signOns++);
        try {
          return await stepFn(conn);
        } catch (e) {
          const retry = e instanceof SignOnAgain || (e instanceof BankError && e.code === 'BANK_UNREACHABLE');
          conn.close();
          conn = undefined;
          if (!retry || reconnects++ >= (this.o.reconnects ?? 2)) throw asBankError(e);
        }
      }
    };
    try {
      for (const item of items) {
        if ('unsendable' in item) continue;
        await run(async (c) => {
          const repeat = sent.has(item.index);
          sent.add(item.index);
          const answer = await this.exchange(c, this.advice(item, batch, repeat), this.advice(item, batch, true));
          verdicts.set(item.index, this.verdictOf(answer, `record ${item.recordId}`));
        });
      }
      if (sent.size > 0)
        await run(async (c) => {
          const totals = totalsOf(items, verdicts);
          const currency = items.find((i): i is Extract<LinkRecord, { record: Uint8Array }> => 'record' in i)!.currency;
          if (await this.balanced(c, batch, totals, currency, SETTLEMENT_STAN_BASE + settlements++)) return;
          for (const item of items) {
            if ('unsendable' in item) continue;
            const answer = await this.exchange(c, this.upload(item, batch));
            const v = this.verdictOf(answer, `upload of record ${item.recordId}`);
            if (!verdicts.has(item.index)) verdicts.set(item.index, v);
          }
          if (
            !(await this.balanced(c, batch, totalsOf(items, verdicts), currency, SETTLEMENT_STAN_BASE + settlements++))
          )
            throw new BankError(
              'BANK_ANSWER_INVALID',
              `batch ${batchId}: the acquirer's totals of ISO batch ${batch} still differ after the batch upload`,
              'the batch stays in flight and is re-sent; report this to the acquirer if it persists',
              'unknown',
            );
        });
    } finally {
      (conn as Iso8583Connection | undefined)?.close();
    }
    return answerOf(batchId, items, verdicts);
  }

  /** Connect and sign on for `batch`. */
  private async signedOn(batch: number, stan: number): Promise<Iso8583Connection> {
    const conn = await Iso8583Connection.open({
      host: this.o.host,
      port: this.o.port,
      dialect: this.dialect,
      timeoutMs: this.o.connectTimeoutMs ?? 5000,
      ...(this.o.tap ? { tap: this.o.tap } : {}),
    });
    try {
      const answer = await this.exchange(conn, signOn({ ...this.ids(), stan, batch, operator: OPERATOR }));
      const code = readResponse(answer).responseCode;
      if (code !== LINK_CODES.APPROVED) throw refusal(code, 'sign-on');
      return conn;
    } catch (e) {
      conn.close();
      throw e instanceof SignOnAgain ? refusal(LINK_CODES.SIGN_ON_FIRST, 'sign-on') : e;
    }
  }

  private ids(): { terminalId: string; merchantId: string } {
    return { terminalId: this.o.terminalId, merchantId: this.o.merchantId };
  }

  private advice(item: Extract<LinkRecord, { record: Uint8Array }>, batch: number, repeat: boolean): Iso8583Message {
    const msg = offlineAdvice({
      ...this.ids(),
      ...item.local,
      stan: adviceStan(item.index),
      batch,
      repeat,
      amount: item.amount,
      currency: item.currency,
      entry: 'contact',
      processing: item.processing,
      record: item.record,
    });
    return withFields(msg, [[CERTIFICATE_FIELD, item.certificate ? toBase64url(item.certificate) : undefined]]);
  }

  private upload(item: Extract<LinkRecord, { record: Uint8Array }>, batch: number): Iso8583Message {
    const msg = batchUpload({
      ...this.ids(),
      ...item.local,
      stan: adviceStan(item.index),
      batch,
      amount: item.amount,
      currency: item.currency,
      record: item.record,
    });
    return withFields(msg, [[CERTIFICATE_FIELD, item.certificate ? toBase64url(item.certificate) : undefined]]);
  }

  /** 0500 → 0510: whether the acquirer's totals are ours. */
  private async balanced(
    c: Iso8583Connection,
    batch: number,
    totals: BatchTotals,
    currency: string,
    stan: number,
  ): Promise<boolean> {
    const answer = await this.exchange(
      c,
      settlement({ ...this.ids(), stan, batch, totals, currency, operator: OPERATOR }),
    );
    const code = readResponse(answer).responseCode;
    if (code !== LINK_CODES.APPROVED) throw refusal(code, 'batch settlement (0500)');
    return readTotals(answer).balanced === true;
  }

  /**
   * Send `request` (MACed) and wait for its answer: the answering MTI with the same STAN (a late
   * answer to an earlier request is passed over). Without an answer in time, `repeat` (the 0221 of
   * an advice) or the same request again, up to `repeats` times. The answer's MAC must verify: only
   * a refusal for an unknown terminal (03) or a bad MAC (A0) may come without one.
   */
  private async exchange(c: Iso8583Connection, request: Iso8583Message, repeat = request): Promise<Iso8583Message> {
    const stan = request.fields.get(11);
    const wanted = responseMti(request.mti);
    const tries = 1 + (this.o.repeats ?? 2);
    for (let attempt = 0; attempt < tries; attempt++) {
      c.send(this.frame(withMac(this.dialect, attempt === 0 ? request : repeat, this.o.macKey)));
      const deadline = Date.now() + (this.o.answerTimeoutMs ?? 5000);
      for (;;) {
        const frame = await c.receive(deadline - Date.now());
        if (!frame) break;
        const m = frame.message;
        if (m.mti !== wanted || m.fields.get(11) !== stan) continue;
        this.checkMac(m);
        return m;
      }
    }
    throw new BankError(
      'BANK_UNREACHABLE',
      `the acquirer at ${this.o.host}:${this.o.port} did not answer ${request.mti} STAN ${String(stan)} (${tries} tries)`,
      'the batch stays in flight and is re-sent; the acquirer answers a repeat from its store',
      'unknown',
    );
  }

  private checkMac(m: Iso8583Message): void {
    if (macValid(this.dialect, m, this.o.macKey)) return;
    const code = m.fields.get(39);
    // A refusal for an unknown terminal has no key to be MACed with, and one for a bad MAC is MACed with the key
    // this terminal does not have: both are taken as they are. A forged one only holds the batch back, as a cut line would.
    if (code === LINK_CODES.UNKNOWN_TERMINAL || code === LINK_CODES.MAC_FAILED) return;
    throw new BankError(
      'BANK_ANSWER_INVALID',
      `the acquirer's ${m.mti} STAN ${String(m.fields.get(11))} ${m.fields.has(64) ? 'has a MAC that does not verify' : 'has no MAC'}`,
      'the batch stays in flight and is re-sent; check bank.iso8583.macKeyHex against the key the acquirer holds',
      'unknown',
    );
  }

  private frame(message: Iso8583Message) {
    if (!this.dialect.framing.tpdu) return { header: new Uint8Array(0), message };
    return {
      tpdu: this.o.tpdu ?? { destination: 3, source: 0 },
      header: this.o.header ?? Uint8Array.of(0x60, 0x31, 0x00, 0x31, 0x13, 0x01),
      message,
    };
  }

  /** Field 39 and 63 of a 0230/0330 as a verdict; a code about the message itself is a refusal. */
  private verdictOf(answer: Iso8583Message, what: string): VerdictText {
    const code = readResponse(answer).responseCode;
    if (code !== LINK_CODES.APPROVED && !reasonOfCode(code)) throw refusal(code, what);
    const text = answer.fields.get(63);
    if (typeof text !== 'string')
      throw new BankError(
        'BANK_ANSWER_INVALID',
        `${what}: the acquirer's ${answer.mti} has no verdict (field 63)`,
        'the batch stays in flight and is re-sent; report this to the acquirer',
        'unknown',
      );
    try {
      return decodeVerdictField(text, code);
    } catch (e) {
      throw new BankError(
        'BANK_ANSWER_INVALID',
        `${what}: ${(e as Error).message}`,
        'the batch stays in flight and is re-sent; report this to the acquirer',
        'unknown',
      );
    }
  }
}

function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
