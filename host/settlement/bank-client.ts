import { CardpostError } from '../../protocol/errors.js';
import { signTerminalRequest } from '../../protocol/bank/terminal-auth.js';
import {
  BankDecodeError,
  blockOrderPath,
  decodeBlockOrderAnswer,
  decodeBatchResponse,
  decodeLostCardAnswer,
  encodeLostCardRequest,
  lostCardPath,
  verdictsOf,
  type BlockOrderAnswer,
  type LostCardAnswer,
  type LostReason,
  type RecordVerdict,
} from '../../protocol/bank/index.js';
import { decodeTopupAnswer, encodeTopupRequest, type TopupAnswer } from '../../protocol/bank/topup.js';
import { decodeRefundAnswer, encodeRefundRequest, type RefundAnswer } from '../../protocol/bank/refund.js';
import type { Certificate, SigningKey } from '../../protocol/record/index.js';
import type { CurrencyTotal } from '../store/host-store.js';

/**
 * Why a call to the bank did not give an answer the host can act on. `outcome: 'unknown'` means the
 * request may or may not have been processed (network error, time-out, 5xx, 409 in use): the only
 * safe move is to re-send the same request. `outcome: 'refused'` is a definite refusal (4xx): resending
 * it unchanged will not help.
 */
export class BankError extends CardpostError {
  constructor(
    code: string,
    message: string,
    hint: string,
    readonly outcome: 'unknown' | 'refused',
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(code, message, hint);
  }
}

export interface BatchAnswer {
  batchId: string;
  settledAt: number;
  verdicts: RecordVerdict[];
  replayed: boolean;
}

export interface BankClientOptions {
  baseUrl: string;
  key: SigningKey;
  certificate: Certificate;
  timeoutMs?: number;
  clock?: () => number;
  /** The bank's time from its health answer (unix seconds): the counter checks its own clock by it. */
  onBankTime?: (seconds: number) => void;
}

/**
 * The host's client of the bank settlement API (docs/bank-api.md): every request signed with the
 * terminal key, each call bounded by a time-out, every answer validated before it is believed.
 * It never retries by itself; the settlement worker decides (bank-api.md §11).
 */
export class BankClient {
  constructor(private readonly o: BankClientOptions) {}

  get url(): string {
    return this.o.baseUrl;
  }

  private async send(
    method: string,
    path: string,
    body?: Uint8Array,
    idempotencyKey?: string,
    signed = true,
  ): Promise<{ status: number; json: unknown; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (body) headers['Content-Type'] = 'application/json';
    if (signed) {
      Object.assign(
        headers,
        signTerminalRequest({
          method,
          path,
          body,
          idempotencyKey,
          key: this.o.key,
          certificate: this.o.certificate,
          ...(this.o.clock ? { now: Math.floor(this.o.clock() / 1000) } : {}),
        }),
      );
    }
    let res: Response;
    try {
      res = await fetch(this.o.baseUrl + path, {
        method,
        headers,
        ...(body ? { body } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 15_000),
      });
    } catch (e) {
      const why =
        e instanceof Error
          ? e.name === 'TimeoutError'
            ? 'no answer in time'
            : e.cause instanceof Error
              ? e.cause.message
              : e.message
          : String(e);
      throw new BankError(
        'BANK_UNREACHABLE',
        `bank at ${this.o.baseUrl} did not answer ${method} ${path}: ${why}`,
        'the counter keeps taking card payments offline; records settle when the bank is back',
        'unknown',
      );
    }
    let json: unknown;
    const text = await res.text().catch(() => '');
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, headers: res.headers };
  }

  private failure(status: number, json: unknown, headers: Headers, what: string): BankError {
    const err = (json as { error?: { code?: unknown; message?: unknown; hint?: unknown } } | undefined)?.error;
    const code = typeof err?.code === 'string' ? err.code : `HTTP_${status}`;
    const message = `${what}: bank answered ${status} ${code}${typeof err?.message === 'string' ? ` (${err.message})` : ''}`;
    const retryAfter = Number(headers.get('retry-after'));
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
    if (status >= 500 || status === 409 || status === 429) {
      const hint = what.startsWith('batch')
        ? 'the batch will be re-sent with the same id; nothing is settled twice'
        : 'the bank is not answering properly; try again in a while';
      return new BankError('BANK_UNAVAILABLE', message, hint, 'unknown', status, retryAfterMs);
    }
    const hint =
      status === 401
        ? code === 'AUTH_DATE_SKEW'
          ? "set this computer's clock right (the bank allows 5 minutes)"
          : 'check the terminal key and certificate in the daemon config'
        : typeof err?.hint === 'string'
          ? err.hint
          : 'report this to cardpost support with the daemon log';
    return new BankError(`BANK_REFUSED_${code}`, message, hint, 'refused', status);
  }

  /** GET /v1/health. When it fails, `problem` says why, for the settlement status and the log. */
  async health(): Promise<{ ok: boolean; time?: number; problem?: BankError }> {
    // A bank that never answers is as often a typo in bank.url (host, port, path) as an outage: say both.
    const hint =
      "if it persists, check bank.url in the daemon's config (host, port, path) and that the bank is up; meanwhile the counter takes card payments offline and settles them when the bank answers";
    try {
      const r = await this.send('GET', '/v1/health', undefined, undefined, false);
      const time = (r.json as { time?: unknown } | undefined)?.time;
      if (r.status === 200 && typeof time === 'number') this.o.onBankTime?.(time);
      if (r.status === 200) return { ok: true, ...(typeof time === 'number' ? { time } : {}) };
      const f = this.failure(r.status, r.json, r.headers, `health check at ${this.o.baseUrl}`);
      return { ok: false, problem: new BankError(f.code, f.message, hint, 'unknown', r.status) };
    } catch (e) {
      const why = e instanceof CardpostError ? e : undefined;
      return {
        ok: false,
        problem: new BankError(
          why?.code ?? 'BANK_UNREACHABLE',
          why?.message ?? `bank at ${this.o.baseUrl} did not answer: ${e instanceof Error ? e.message : String(e)}`,
          hint,
          'unknown',
        ),
      };
    }
  }

  /** POST /v1/batches with the exact stored body; the batch id is the Idempotency-Key. */
  async submitBatch(batchId: string, body: Uint8Array, expectedRecords: number): Promise<BatchAnswer> {
    const r = await this.send('POST', '/v1/batches', body, batchId);
    if (r.status !== 200) throw this.failure(r.status, r.json, r.headers, `batch ${batchId}`);
    let answer;
    try {
      // protocol/bank/verdicts.ts: every field checked, one result per record in order, the counts those of the results
      answer = decodeBatchResponse(r.json, { batchId, records: expectedRecords });
    } catch (e) {
      if (!(e instanceof BankDecodeError)) throw e;
      throw new BankError(
        'BANK_ANSWER_INVALID',
        `batch ${batchId}: the bank's answer is not valid (${e.message})`,
        'the batch stays in flight and will be re-sent; report this to the bank',
        'unknown',
        200,
      );
    }
    return {
      batchId,
      settledAt: answer.settledAt,
      verdicts: verdictsOf(answer),
      replayed: r.headers.get('idempotent-replayed') === 'true',
    };
  }

  /**
   * POST /v1/topups (docs/bank-api.md §6): a token for the card's next load. Sent under `key` (the
   * Idempotency-Key, kept with the top-up row); when the answer is lost (no answer, 5xx, 409 in use)
   * the same request is sent again with the same key, up to `attempts` times, so the bank authorises
   * the load once whatever happens to its answers. A 4xx refusal is thrown at once (`outcome: 'refused'`);
   * after the last attempt the BankError says `outcome: 'unknown'` (the bank may hold the token: ask again later with the same key).
   */
  async topup(
    key: string,
    req: { cardId: string; loadSeq: number; amount: number; currency: number },
    retry: { attempts?: number; delayMs?: number } = {},
  ): Promise<TopupAnswer> {
    return this.load('/v1/topups', encodeTopupRequest(req), key, req, retry, 'top-up', decodeTopupAnswer);
  }

  /**
   * POST /v1/refunds (docs/bank-api.md §15): the refund's top-up token, asked under the refund id (the
   * Idempotency-Key and the bank's own idempotency of the refund), retried like a top-up.
   */
  async refund(
    req: { refundId: string; recordId: string; cardId: string; amount: number; loadSeq: number },
    retry: { attempts?: number; delayMs?: number } = {},
  ): Promise<RefundAnswer> {
    const body = encodeRefundRequest({
      refundId: req.refundId,
      recordId: req.recordId,
      amount: req.amount,
      loadSeq: req.loadSeq,
    });
    const expect = { refundId: req.refundId, recordId: req.recordId };
    return this.load('/v1/refunds', body, req.refundId, req, retry, 'refund', (v) => decodeRefundAnswer(v, expect));
  }

  private async load<T extends TopupAnswer>(
    path: string,
    body: Uint8Array,
    key: string,
    req: { cardId: string; loadSeq: number; amount: number },
    retry: { attempts?: number; delayMs?: number },
    what: string,
    decode: (v: unknown) => T,
  ): Promise<T> {
    const attempts = retry.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.send('POST', path, body, key);
        if (r.status !== 200) throw this.failure(r.status, r.json, r.headers, `${what} ${key}`);
        let answer: T;
        try {
          answer = decode(r.json);
        } catch (e) {
          if (!(e instanceof BankDecodeError)) throw e;
          throw new BankError(
            'BANK_ANSWER_INVALID',
            `${what} ${key}: the bank's answer is not valid (${e.message})`,
            `the ${what} is asked again with the same key; report this to the bank if it persists`,
            'unknown',
            200,
          );
        }
        if (
          answer.cardId !== req.cardId.toLowerCase() ||
          answer.loadSeq !== req.loadSeq ||
          answer.amount !== req.amount
        )
          throw new BankError(
            'BANK_ANSWER_INVALID',
            `${what} ${key}: the bank answered for card ${answer.cardId} load ${answer.loadSeq} amount ${answer.amount}`,
            'report this to the bank',
            'refused',
            200,
          );
        return answer;
      } catch (e) {
        if (!(e instanceof BankError) || e.outcome !== 'unknown' || attempt >= attempts) throw e;
        await new Promise((res) =>
          setTimeout(res, Math.min(e.retryAfterMs ?? Infinity, (retry.delayMs ?? 250) * attempt)),
        );
      }
    }
  }

  /**
   * GET /v1/reconciliation: the bank's totals of accepted records for this terminal, of a UTC day
   * (`YYYY-MM-DD`) or of the instants [since, until) in Unix seconds (a shop's own day, bank-api.md §8).
   */
  async reconciliation(day: string | { since: number; until: number }): Promise<CurrencyTotal[]> {
    const path =
      typeof day === 'string'
        ? `/v1/reconciliation?date=${day}`
        : `/v1/reconciliation?since=${day.since}&until=${day.until}`;
    const r = await this.send('GET', path);
    if (r.status !== 200) throw this.failure(r.status, r.json, r.headers, 'reconciliation');
    const totals = (r.json as { totals?: unknown } | undefined)?.totals;
    if (!Array.isArray(totals))
      throw new BankError(
        'BANK_ANSWER_INVALID',
        'reconciliation answer has no totals',
        'report this to the bank',
        'unknown',
        200,
      );
    return totals.map((t: { currency?: unknown; count?: unknown; amount?: unknown }) => ({
      currency: Number(t.currency),
      count: Number(t.count),
      amount: Number(t.amount),
    }));
  }

  /**
   * POST /v1/cards/{cardId}/lost (docs/bank-api.md §13): revoke a lost or stolen card. Retry an unknown
   * outcome with the same `idempotencyKey`; a report of a card already reported answers `alreadyReported`.
   */
  async reportLost(cardId: string, reason: LostReason, idempotencyKey: string): Promise<LostCardAnswer> {
    const path = lostCardPath(cardId);
    const r = await this.send('POST', path, encodeLostCardRequest({ reason }), idempotencyKey);
    if (r.status !== 200) throw this.failure(r.status, r.json, r.headers, `lost-card report of ${cardId}`);
    try {
      return decodeLostCardAnswer(r.json, { cardId });
    } catch (e) {
      if (!(e instanceof BankDecodeError)) throw e;
      throw new BankError(
        'BANK_ANSWER_INVALID',
        `lost-card report of ${cardId}: the bank's answer is not valid (${e.message})`,
        'report it again (the same report is answered again, nothing is done twice); report this to the bank',
        'unknown',
        200,
      );
    }
  }

  /**
   * GET /v1/cards/{cardId}/block-order (docs/bank-api.md §14): the signed order that blocks a revoked card
   * on the card itself, with its signer's certificate (both verified by the caller and by the card).
   * 404 `BANK_REFUSED_CARD_NOT_REVOKED` for a card the bank has not revoked.
   */
  async blockOrder(cardId: string): Promise<BlockOrderAnswer> {
    const r = await this.send('GET', blockOrderPath(cardId));
    if (r.status !== 200) throw this.failure(r.status, r.json, r.headers, `block order of ${cardId}`);
    try {
      return decodeBlockOrderAnswer(r.json, { cardId });
    } catch (e) {
      if (!(e instanceof BankDecodeError)) throw e;
      throw new BankError(
        'BANK_ANSWER_INVALID',
        `block order of ${cardId}: the bank's answer is not valid (${e.message})`,
        'the card is still refused here; report this to the bank',
        'unknown',
        200,
      );
    }
  }

  /** GET /v1/revocations: the signed list, as bytes (verified by the caller). */
  async revocations(): Promise<Uint8Array | undefined> {
    try {
      const res = await fetch(this.o.baseUrl + '/v1/revocations', {
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 15_000),
      });
      if (res.status !== 200) return undefined;
      return new Uint8Array(await res.arrayBuffer());
    } catch {
      return undefined;
    }
  }
}
