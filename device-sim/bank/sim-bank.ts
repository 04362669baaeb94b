/**
 * The simulated bank: an HTTP settlement service (fastify 5) on a SQLite ledger (better-sqlite3).
 * It stands in for the real bank in tests and in `cardpost demo`. API: docs/bank-api.md.
 */
import { checkBankAuthority } from '../../protocol/bank/bank-keys.js';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { bytesEqual, fromHex, toHex } from '../../protocol/bytes.js';
import { CardpostError, DecodeError } from '../../protocol/errors.js';
import {
  CERT_KIND,
  TrustStore,
  decodeRevocationList,
  keyId,
  signRevocationList,
  verifyRevocationList,
  type Certificate,
  type CertKind,
  type RevocationList,
  type SigningKey,
} from '../../protocol/record/index.js';
import { RECORD_READER_KINDS, recordStatus } from './record-access.js';
import { DEFAULT_VALID_FOR_PAYMENTS, authoriseTopup } from './topup.js';
import { authoriseRefund } from './refund.js';
import { decodeRefundRequest } from '../../protocol/bank/refund.js';
import { LOST_REPORTER_KINDS, lostCardIdOf, remainingBalance, reportLostCard } from './lost-cards.js';
import { LOST_KEY, decodeLostCardRequest } from '../../protocol/bank/lost-card.js';
import type { LostCardRow } from './ledger.js';
import { blockOrderAnswer, blockOrderCardIdOf } from './block-orders.js';

export { DEFAULT_VALID_FOR_PAYMENTS };
import { FASTIFY_CLIENT_ERRORS, HttpError, badRequest, errorBody } from '../../protocol/bank/http-error.js';
import { TerminalAuthError, authenticateRequest, type AuthenticatedCaller } from '../../protocol/bank/authenticate.js';
import { FaultState, type EffectiveFaults, type FaultConfig } from './faults.js';
import { Ledger, type EvidenceRow, type SettledRow } from './ledger.js';
import { CertificateCache, precheck, settle } from './settle.js';
import { AUTH_HEADER } from '../../protocol/bank/terminal-auth.js';
import { reconciliationRange } from '../../protocol/bank/reconciliation-query.js';
import {
  BATCH_ID,
  MAX_BODY_BYTES,
  MAX_CERTIFICATES_PER_BATCH,
  MAX_RECORDS_PER_BATCH,
  TOPUP_KEY,
  decodeBatchRequest,
  decodeTopupRequest,
  encodeBatchResponse,
  parseJsonBytes,
  type BankDecodeCode,
} from '../../protocol/bank/index.js';

export { MAX_BODY_BYTES, MAX_CERTIFICATES_PER_BATCH, MAX_RECORDS_PER_BATCH };

export interface SimBankOptions {
  /** SQLite file of the ledger (created if missing). */
  dbPath: string;
  /** The issuer CA (kind 1, self-signed): trust anchor for card and terminal certificates. */
  issuerCertificate: Certificate;
  /** The bank's top-up authority (kind 4, issued by that CA): signs top-up tokens and revocation lists. */
  authority: { key: SigningKey; certificate: Certificate };
  /** Records older than this (by record time) are refused with RECORD_EXPIRED. Default 30. */
  settlementWindowDays?: number;
  /** Unix seconds; for tests. Default: the system clock. */
  clock?: () => number;
  faults?: FaultConfig;
  /** fastify's logger (pino); off by default. Nothing secret is in requests, but certificates are noisy. */
  logger?: boolean;
}

export interface BankAddress {
  host: string;
  port: number;
  url: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const IDEMPOTENT_ROUTES = new Set(['/v1/batches', '/v1/topups', '/v1/refunds', '/v1/cards/:cardId/lost']);

/**
 * The request codecs' DecodeErrors (protocol/bank): each is answered with its own code and this status
 * (docs/bank-api.md §10); any other DecodeError in a handler is a 400 too.
 */
const REQUEST_DECODE_STATUS: ReadonlyMap<BankDecodeCode, number> = new Map<BankDecodeCode, number>([
  ['BODY_MISSING', 400],
  ['BODY_NOT_JSON', 400],
  ['BODY_SCHEMA', 400],
  ['BATCH_EMPTY', 400],
  ['BATCH_TOO_LARGE', 400],
  ['BATCH_ID_MISMATCH', 400],
]);

const unixNow = (): number => Math.floor(Date.now() / 1000);
const DOCS = 'see docs/bank-api.md';

function authError(code: string, message: string, hint: string): HttpError {
  return new HttpError(401, code, message, hint, { 'www-authenticate': 'Cardpost-Terminal' });
}

/** The Idempotency-Key header value exactly as sent (what the signature covers). */
function idempotencyHeaderOf(req: FastifyRequest): string | undefined {
  const v = req.headers[AUTH_HEADER.idempotencyKey];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The key itself: the header value without the quotes of a structured-field sf-string. */
function idempotencyKeyOf(req: FastifyRequest): string | undefined {
  const s = idempotencyHeaderOf(req);
  if (s === undefined) return undefined;
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

export class SimBank {
  private readonly app: FastifyInstance;
  private readonly ledger: Ledger;
  private readonly trust = new TrustStore();
  private readonly certs: CertificateCache;
  private readonly faultState: FaultState;
  private readonly clock: () => number;
  private readonly windowSeconds: number;
  private readonly authority: { key: SigningKey; certificate: Certificate };
  private readonly issuerKeyId: Uint8Array;
  private readonly inflight = new Set<string>();
  private readonly held = new Set<Socket>();
  private readonly sleepers = new Set<() => void>();
  private readonly logging: boolean;
  private closing = false;
  private closed: Promise<void> | undefined;
  private bound: BankAddress | undefined;

  constructor(opts: SimBankOptions) {
    this.clock = opts.clock ?? unixNow;
    this.logging = opts.logger ?? false;
    const days = opts.settlementWindowDays ?? 30;
    if (!(days > 0))
      throw new CardpostError('BANK_CONFIG', `settlementWindowDays must be positive, not ${days}`, 'use e.g. 30');
    this.windowSeconds = Math.round(days * 86400);
    this.trust.addIssuer(opts.issuerCertificate); // throws TRUST_ANCHOR_INVALID for a non-CA
    this.issuerKeyId = keyId(opts.issuerCertificate.algorithm, opts.issuerCertificate.publicKey);
    const a = opts.authority;
    checkBankAuthority(opts.issuerCertificate, a);
    this.authority = a;
    this.certs = new CertificateCache(this.trust);
    this.faultState = new FaultState(opts.faults ?? {});
    this.ledger = new Ledger(opts.dbPath);
    try {
      this.ensureRevocationList();
      this.app = this.buildApp(this.logging);
    } catch (e) {
      this.ledger.close();
      throw e;
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Start serving; resolves to the bound address (port 0 picks a free one). */
  async listen(opts: { host?: string; port?: number } = {}): Promise<BankAddress> {
    if (this.bound)
      throw new CardpostError('BANK_LISTENING', 'the bank is already listening', 'create another SimBank');
    if (this.closing) throw new CardpostError('BANK_CLOSED', 'the bank is closed', 'create another SimBank');
    await this.app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
    const addr = this.app.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.bound = { host: addr.address, port: addr.port, url: `http://${host}:${addr.port}` };
    return this.bound;
  }

  get address(): BankAddress | undefined {
    return this.bound;
  }

  /** Stop serving (held and in-flight requests are cut short) and close the ledger. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      for (const wake of [...this.sleepers]) wake();
      for (const s of this.held) s.destroy();
      this.held.clear();
      try {
        await this.app.close();
      } finally {
        this.ledger.close();
      }
    })();
    return this.closed;
  }

  // ---- QA control and inspection -------------------------------------------------------------

  /** Change fault injection (partial; `seed` restarts the PRNG). Returns the effective config. */
  setFaults(partial: Omit<FaultConfig, 'adminEndpoint'>): Readonly<EffectiveFaults> {
    return this.faultState.set(partial);
  }

  get faults(): Readonly<EffectiveFaults> {
    return this.faultState.current;
  }

  /** Put a card on the revocation list (sequence +1). false if it already was. */
  revokeCard(cardIdHex: string, reason = 'revoked by the operator'): boolean {
    const id = toHex(fromHex(cardIdHex));
    if (id.length !== 16)
      throw new CardpostError('CARD_ID_INVALID', `card id must be 8 bytes, got ${id.length / 2}`, 'give 16 hex digits');
    return this.ledger.transaction(() => {
      const now = this.clock();
      if (!this.ledger.revoke(id, reason, now)) return false;
      this.resignRevocationList(now);
      return true;
    });
  }

  /** The current signed revocation list. */
  revocationList(): RevocationList {
    return decodeRevocationList(this.ledger.getRevocationList()!.envelope);
  }

  revokedCards(): string[] {
    return this.ledger.revokedCards();
  }
  settledRecord(cardIdHex: string, counter: number): SettledRow | undefined {
    return this.ledger.getSettled(cardIdHex.toLowerCase(), counter);
  }
  settledRecords(cardIdHex: string): SettledRow[] {
    return this.ledger.settledOfCard(cardIdHex.toLowerCase());
  }
  settledCount(): number {
    return this.ledger.settledCount();
  }
  /** Requests under an Idempotency-Key that are being worked on now (so a test can act while one is). */
  inFlightRequests(): number {
    return this.inflight.size;
  }
  evidence(): EvidenceRow[] {
    return this.ledger.evidence();
  }
  /** Lost/stolen reports (the audit trail), with each card's remaining balance now (docs/bank-api.md §13). */
  lostCards(): (LostCardRow & ReturnType<typeof remainingBalance>)[] {
    return this.ledger.lostCards().map((l) => ({ ...l, ...remainingBalance(this.ledger, l.cardId) }));
  }

  // ---- revocation list -----------------------------------------------------------------------

  private ensureRevocationList(): void {
    const cur = this.ledger.getRevocationList();
    if (cur) {
      try {
        const list = decodeRevocationList(cur.envelope);
        const same = list.revoked.map(toHex).join() === this.ledger.revokedCards().join();
        if (
          same &&
          bytesEqual(list.issuerKeyId, this.issuerKeyId) &&
          verifyRevocationList(list, this.authority.certificate.algorithm, this.authority.key.publicKey)
        )
          return;
      } catch (e) {
        if (!(e instanceof CardpostError)) throw e;
      }
    }
    // none yet, or signed by another authority / for another issuer: sign afresh with a higher sequence
    this.ledger.transaction(() => this.resignRevocationList(this.clock()));
  }

  /** Inside a transaction: sign the list of every revoked card with sequence + 1. */
  private resignRevocationList(now: number): void {
    const sequence = (this.ledger.getRevocationList()?.sequence ?? 0) + 1;
    const list = signRevocationList(this.authority.key, {
      issuerKeyId: this.issuerKeyId,
      sequence,
      issuedAt: now,
      revoked: this.ledger.revokedCards().map(fromHex),
    });
    this.ledger.putRevocationList(sequence, now, list.envelope);
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private buildApp(logger: boolean): FastifyInstance {
    const app = Fastify({
      logger,
      bodyLimit: MAX_BODY_BYTES,
      forceCloseConnections: true, // close() is "stop now": handlers are synchronous around their commit, so no commit is cut in half
      return503OnClosing: true,
      frameworkErrors: (err, _req, reply) => {
        void (reply as unknown as FastifyReply)
          .code(400)
          .type(JSON_TYPE)
          .send(errorBody('REQUEST_INVALID', `the request could not be routed: ${err.message}`, DOCS));
      },
    });

    app.server.on('connection', (socket: Socket) => {
      if (this.faultState.current.down === 'reset') socket.destroy();
    });

    // bodies: JSON only, kept as raw bytes (the signature and the idempotency fingerprint cover the exact bytes)
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES },
      (_req, body, done) => {
        done(null, body);
      },
    );

    app.addHook('onRequest', async (req, reply) => {
      const f = this.faultState.current;
      if (f.adminEndpoint && req.url.startsWith('/v1/_faults')) return;
      if (this.closing)
        return this.sendError(reply, new HttpError(503, 'BANK_CLOSING', 'the bank is shutting down', 'retry later'));
      if (f.down === 'reset') {
        // a kept-alive connection opened before the fault: cut it too
        reply.hijack();
        req.raw.socket.destroy();
        return;
      }
      if (f.down)
        return this.sendError(
          reply,
          new HttpError(
            503,
            'BANK_DOWN',
            'the bank is down (injected fault)',
            'retry later with the same Idempotency-Key',
            { 'retry-after': '5' },
          ),
        );
      if (this.faultState.chance(f.errorRate)) {
        const status = this.faultState.chance(0.5) ? 503 : 500;
        return this.sendError(
          reply,
          new HttpError(
            status,
            'FAULT_INJECTED',
            `injected ${status} before any processing`,
            'retry with the same Idempotency-Key',
          ),
        );
      }
      if (this.faultState.chance(f.timeoutRate)) {
        reply.hijack(); // never answer: the socket stays open until the client gives up (or the bank closes)
        const sock = req.raw.socket;
        this.held.add(sock);
        sock.once('close', () => this.held.delete(sock));
        return;
      }
      if (!IDEMPOTENT_ROUTES.has(req.routeOptions.url ?? '')) await this.latency();
    });

    app.setErrorHandler((err: FastifyError | Error, req, reply) => {
      if (err instanceof HttpError) return this.sendError(reply, err);
      if (err instanceof DecodeError) {
        return this.sendError(
          reply,
          new HttpError(REQUEST_DECODE_STATUS.get(err.code as BankDecodeCode) ?? 400, err.code, err.message, err.hint),
        );
      }
      const fe = err as FastifyError;
      const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
      if (status >= 400 && status < 500) {
        const [code, hint] = FASTIFY_CLIENT_ERRORS[fe.code] ?? ['REQUEST_INVALID', DOCS];
        return this.sendError(reply, new HttpError(status, code, fe.message, hint));
      }
      if (this.logging) req.log.error({ err }, 'bank internal error');
      else console.error('cardpost sim-bank: internal error:', err); // a bank bug: never silent
      return this.sendError(
        reply,
        new HttpError(500, 'INTERNAL', 'internal error; nothing was committed', 'retry with the same Idempotency-Key'),
      );
    });

    app.setNotFoundHandler((req, reply) =>
      this.sendError(reply, new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, DOCS)),
    );

    app.get('/v1/health', async (_req, reply) =>
      this.sendJson(reply, 200, JSON.stringify({ status: 'ok', time: this.clock() })),
    );
    app.get('/v1/revocations', async (req, reply) => this.getRevocations(req, reply));
    app.post('/v1/batches', async (req, reply) => this.postBatch(req, reply));
    app.get('/v1/records/:cardId/:counter', async (req, reply) => this.getRecord(req, reply));
    app.post('/v1/topups', async (req, reply) => this.postTopup(req, reply));
    app.post('/v1/refunds', async (req, reply) => this.postRefund(req, reply));
    app.post('/v1/cards/:cardId/lost', async (req, reply) => this.postLostCard(req, reply));
    app.get('/v1/cards/:cardId/block-order', async (req, reply) => this.getBlockOrder(req, reply));
    app.get('/v1/reconciliation', async (req, reply) => this.getReconciliation(req, reply));
    if (this.faultState.current.adminEndpoint) {
      app.get('/v1/_faults', async (_req, reply) => this.sendJson(reply, 200, JSON.stringify(this.faultState.current)));
      app.post('/v1/_faults', async (req, reply) => {
        let eff;
        try {
          eff = this.faultState.set(parseJsonBytes(rawBody(req)));
        } catch (e) {
          if (e instanceof CardpostError && !(e instanceof HttpError)) throw badRequest(e.code, e.message, e.hint);
          throw e;
        }
        return this.sendJson(reply, 200, JSON.stringify(eff));
      });
    }
    return app;
  }

  private sendJson(
    reply: FastifyReply,
    status: number,
    json: string,
    headers: Record<string, string> = {},
  ): FastifyReply {
    return reply.code(status).headers(headers).type(JSON_TYPE).send(json);
  }

  private sendError(reply: FastifyReply, e: HttpError): FastifyReply {
    return this.sendJson(reply, e.status, errorBody(e.code, e.message, e.hint), e.headers);
  }

  private latency(): Promise<void> {
    const ms = this.faultState.current.latencyMs;
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /**
   * Verify the caller's certificate and request signature (docs/bank-api.md §2); 401 otherwise.
   * Every route takes terminals (kind 3) only, except those that pass other `kinds`.
   */
  private authenticate(req: FastifyRequest, kinds: readonly CertKind[] = [CERT_KIND.TERMINAL]): AuthenticatedCaller {
    try {
      return authenticateRequest({
        method: req.method,
        path: req.url,
        header: (name) => {
          const v = req.headers[name];
          return Array.isArray(v) ? v.join(', ') : v;
        },
        body: rawBody(req),
        now: this.clock(),
        trust: this.trust,
        kinds,
      });
    } catch (e) {
      if (e instanceof TerminalAuthError) throw authError(e.code, e.message, e.hint);
      throw e;
    }
  }

  /**
   * The idempotency protocol shared by POST /v1/batches and /v1/topups: 409 while the key is being
   * processed, the stored response byte for byte on a replay, 422 for the key with another body.
   * `work` runs the request and must store its response in the same transaction as its effects.
   */
  private async idempotent(
    req: FastifyRequest,
    reply: FastifyReply,
    scope: 'batches' | 'topups' | 'refunds' | `lost/${string}`, // a report's key is scoped to its card too
    keyPattern: RegExp,
    work: (ctx: {
      terminalId: string;
      key: string;
      body: unknown;
      requestHash: Uint8Array;
      caller: { kind: CertKind; id: string };
    }) => {
      status: number;
      json: string;
    },
    kinds: readonly CertKind[] = [CERT_KIND.TERMINAL],
  ): Promise<FastifyReply | undefined> {
    const caller = this.authenticate(req, kinds);
    // Keys are scoped to the caller; a back-office certificate never shares a terminal's key space.
    const terminal = {
      id: caller.kind === CERT_KIND.TERMINAL ? caller.id : `\u0000kind${caller.kind}\u0000${caller.id}`,
    };
    let key = idempotencyKeyOf(req);
    if (key === undefined || key === '') {
      throw badRequest(
        'IDEMPOTENCY_KEY_MISSING',
        'Idempotency-Key is required',
        scope === 'batches'
          ? 'send Idempotency-Key: <batch id>'
          : `send a unique Idempotency-Key per ${scope === 'topups' ? 'top-up' : scope === 'refunds' ? 'refund' : 'report'}`,
      );
    }
    if (!keyPattern.test(key)) {
      throw badRequest(
        'IDEMPOTENCY_KEY_INVALID',
        'Idempotency-Key is malformed',
        scope === 'batches'
          ? 'the key of a batch is its id: 32 hex digits'
          : 'use 1–255 printable ASCII characters without " and \\',
      );
    }
    if (scope === 'batches') key = key.toLowerCase();
    const raw = rawBody(req);
    const requestHash = new Uint8Array(createHash('sha256').update(raw).digest()); // native: bodies run to megabytes
    const slot = `${terminal.id}\u0000${scope}\u0000${key}`;
    if (this.inflight.has(slot)) {
      throw new HttpError(
        409,
        'IDEMPOTENCY_KEY_IN_USE',
        'a request with this Idempotency-Key is still being processed',
        'retry the same request shortly',
        { 'retry-after': '1' },
      );
    }
    const replay = (): FastifyReply | undefined => {
      const stored = this.ledger.getStoredResponse(terminal.id, scope, key);
      if (!stored) return undefined;
      if (!bytesEqual(stored.requestHash, requestHash)) {
        throw new HttpError(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used with a different request body',
          'a retry must send the identical body; new work needs a new key',
        );
      }
      return this.sendJson(reply, stored.status, stored.response, { 'idempotent-replayed': 'true' });
    };
    const replayed = replay();
    if (replayed) return replayed;
    const body = parseJsonBytes(raw); // DecodeError: 400 BODY_MISSING / BODY_NOT_JSON

    this.inflight.add(slot);
    let out: { status: number; json: string };
    try {
      await this.latency();
      if (this.closing)
        throw new HttpError(
          503,
          'BANK_CLOSING',
          'the bank is shutting down',
          'retry later with the same Idempotency-Key',
        );
      out = work({ terminalId: terminal.id, key, body, requestHash, caller: { kind: caller.kind, id: caller.id } });
    } finally {
      this.inflight.delete(slot);
    }
    if (this.faultState.chance(this.faultState.current.dropAfterCommitRate)) {
      reply.hijack(); // committed, but the client never hears of it: it must retry with the same key
      req.raw.socket.destroy();
      return undefined;
    }
    return this.sendJson(reply, out.status, out.json);
  }

  private async postBatch(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    return this.idempotent(req, reply, 'batches', BATCH_ID, ({ terminalId, key, body, requestHash }) => {
      // DecodeError (BODY_SCHEMA, BATCH_ID_MISMATCH, BATCH_TOO_LARGE, BATCH_EMPTY): a 400 with its code
      const { records, certificates } = decodeBatchRequest(body, { idempotencyKey: key });

      const pre = precheck(
        { terminalId, storedCertificate: (id) => this.ledger.getCardCertificate(id), certs: this.certs },
        records,
        certificates,
      );
      const json = this.ledger.transaction(() => {
        const now = this.clock();
        const { response, newlyRevoked } = settle(
          { trust: this.trust, ledger: this.ledger, terminalId, batchId: key, now, windowSeconds: this.windowSeconds },
          pre,
        );
        if (newlyRevoked.length) this.resignRevocationList(now);
        const text = encodeBatchResponse(response);
        this.ledger.putStoredResponse(terminalId, 'batches', key, requestHash, 200, text, now);
        return text;
      });
      return { status: 200, json };
    });
  }

  private async postTopup(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    return this.idempotent(req, reply, 'topups', TOPUP_KEY, ({ terminalId, key, body, requestHash }) => {
      const request = decodeTopupRequest(body); // DecodeError BODY_SCHEMA: a 400

      const json = this.ledger.transaction(() => {
        const now = this.clock();
        const text = authoriseTopup({ ledger: this.ledger, authority: this.authority, terminalId, now }, request);
        this.ledger.putStoredResponse(terminalId, 'topups', key, requestHash, 200, text, now);
        return text;
      });
      return { status: 200, json };
    });
  }

  /** §15: the refund's answer is stored with the refund and its token, in one transaction. */
  private async postRefund(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    return this.idempotent(req, reply, 'refunds', TOPUP_KEY, ({ terminalId, key, body, requestHash }) => {
      const request = decodeRefundRequest(body); // DecodeError BODY_SCHEMA: a 400
      const json = this.ledger.transaction(() => {
        const now = this.clock();
        const text = authoriseRefund({ ledger: this.ledger, authority: this.authority, terminalId, now }, request);
        this.ledger.putStoredResponse(terminalId, 'refunds', key, requestHash, 200, text, now);
        return text;
      });
      return { status: 200, json };
    });
  }

  private async postLostCard(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const cardId = lostCardIdOf(req.params); // 400 PATH_INVALID before anything else
    return this.idempotent(
      req,
      reply,
      `lost/${cardId}`,
      LOST_KEY,
      ({ terminalId, key, body, requestHash, caller }) => {
        const request = decodeLostCardRequest(body); // DecodeError BODY_SCHEMA: a 400
        const json = this.ledger.transaction(() => {
          const now = this.clock();
          const listSequence = () => this.ledger.getRevocationList()?.sequence ?? 0;
          const out = reportLostCard({ ledger: this.ledger, caller, now, listSequence }, cardId, request);
          if (out.newlyRevoked) this.resignRevocationList(now);
          this.ledger.putStoredResponse(terminalId, `lost/${cardId}`, key, requestHash, 200, out.text, now);
          return out.text;
        });
        return { status: 200, json };
      },
      LOST_REPORTER_KINDS,
    );
  }

  private async getRecord(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const caller = this.authenticate(req, RECORD_READER_KINDS);
    return this.sendJson(
      reply,
      200,
      recordStatus(this.ledger, caller, req.params as { cardId: string; counter: string }),
    );
  }

  /** §14: terminals (the counter that meets the card) and the issuer's back office; 400 PATH_INVALID first. */
  private async getBlockOrder(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const cardId = blockOrderCardIdOf(req.params);
    this.authenticate(req, LOST_REPORTER_KINDS);
    return this.sendJson(reply, 200, blockOrderAnswer({ ledger: this.ledger, authority: this.authority }, cardId));
  }

  private async getRevocations(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const crl = this.ledger.getRevocationList()!;
    const etag = `"crl-${crl.sequence}"`;
    const headers = { etag, 'cache-control': 'no-cache', 'x-cardpost-crl-sequence': String(crl.sequence) };
    if (req.headers['if-none-match'] === etag) return reply.code(304).headers(headers).send();
    return reply.code(200).headers(headers).type('application/cbor').send(Buffer.from(crl.envelope));
  }

  private async getReconciliation(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const terminal = this.authenticate(req);
    const { from, to, echo } = reconciliationRange((req.query ?? {}) as Record<string, unknown>);
    return this.sendJson(
      reply,
      200,
      JSON.stringify({
        ...echo,
        terminalId: terminal.id,
        totals: this.ledger.totals(terminal.id, from, to),
        // §8: what went back to the cards, by the same clock (voids when settled, refunds when authorised)
        reversals: this.ledger.reversalTotals(terminal.id, from, to),
        refunds: this.ledger.refunds.totals(terminal.id, from, to),
      }),
    );
  }
}
