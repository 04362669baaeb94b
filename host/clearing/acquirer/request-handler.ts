import {
  LINK_CODES,
  MTI,
  adviceResponse,
  batchUploadResponse,
  encodeVerdictField,
  macValid,
  readCertificate,
  readRecord,
  readTotals,
  signOnResponse,
  settlementResponse,
  withFields,
  withMac,
  type BatchTotals,
  type Header,
  type Iso8583Dialect,
  type Iso8583Frame,
  type Iso8583Message,
} from '../../../protocol/iso8583/index.js';
import { CardpostError } from '../../../protocol/errors.js';
import type { ClearingCore } from '../clearing-core.js';
import { AcquirerError } from './acquirer-error.js';
import { settleAdvice, type AdviceOutcome } from './advice-settler.js';
import type { BatchTotalsBook } from './batch-totals.js';
import { afterReconcile, step, type SessionState } from './session.js';
import type { KnownTerminal, TerminalTable } from './terminal-table.js';

export interface HandlerContext {
  readonly core: ClearingCore;
  readonly dialect: Iso8583Dialect;
  readonly terminals: TerminalTable;
  readonly book: BatchTotalsBook;
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
  readonly signOnValidMs?: number;
}

export interface Handled {
  /** The answer, or undefined when the request cannot be answered (the connection is closed). */
  readonly answer?: Iso8583Frame;
  readonly next: SessionState;
  /** Why the request was refused or failed, for the log (the answer carries the code). */
  readonly problem?: CardpostError;
}

const REQUESTS = new Set<string>([MTI.SIGN_ON, MTI.ADVICE, MTI.ADVICE_REPEAT, MTI.BATCH_UPLOAD, MTI.SETTLEMENT]);
const ZERO_TOTALS: BatchTotals = { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 };

/** STAN, batch and terminal ids of a request: what every answer echoes. Undefined when they are missing. */
function headerOf(msg: Iso8583Message): Header | undefined {
  const stan = msg.fields.get(11);
  const f60 = msg.fields.get(60);
  const terminalId = msg.fields.get(41);
  const merchantId = msg.fields.get(42);
  if (typeof stan !== 'string' || typeof f60 !== 'string' || typeof terminalId !== 'string') return undefined;
  if (typeof merchantId !== 'string' || !/^[0-9]{11}$/.test(f60) || Number(stan) < 1) return undefined;
  return { stan: Number(stan), batch: Number(f60.slice(2, 8)), terminalId, merchantId };
}

/** UTC MMDD and hhmmss of the acquirer's clock (its answers' fields 13, 12, 15). */
function utcParts(ms: number): { date: string; time: string } {
  const iso = new Date(ms).toISOString();
  return { date: iso.slice(5, 7) + iso.slice(8, 10), time: iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) };
}

/** The answer MTI's message with `responseCode` and nothing decided: what every refusal sends. */
function refusal(mti: string, h: Header, responseCode: string, now: number): Iso8583Message {
  switch (mti) {
    case MTI.SIGN_ON:
      return signOnResponse({ ...h, ...utcParts(now), responseCode });
    case MTI.SETTLEMENT:
      return settlementResponse({
        ...h,
        responseCode,
        settlementDate: utcParts(now).date,
        totals: ZERO_TOTALS,
        balanced: false,
      });
    case MTI.BATCH_UPLOAD:
      return batchUploadResponse({ ...h, responseCode });
    default:
      return adviceResponse({ ...h, responseCode });
  }
}

/**
 * One request in, its answer out (docs/iso8583.md §9): identify the terminal by fields 41 + 42 (03
 * when unknown, answered without a MAC: there is no key to MAC with), check field 64 (A0), let the
 * session say what the request may do (77, 12), then do it. Every answer to a known terminal is MACed.
 */
export async function handleRequest(ctx: HandlerContext, frame: Iso8583Frame, state: SessionState): Promise<Handled> {
  const msg = frame.message;
  const h = headerOf(msg);
  if (!REQUESTS.has(msg.mti) || !h)
    return {
      next: state,
      problem: new AcquirerError(
        'ACQUIRER_REQUEST_REFUSED',
        `MTI ${msg.mti}${h ? '' : ' without fields 11, 41, 42 and 60'} cannot be answered: the connection is closed`,
      ),
    };
  const now = ctx.clock();
  const reply = (m: Iso8583Message): Iso8583Frame => ({
    ...(frame.tpdu ? { tpdu: { destination: frame.tpdu.source, source: frame.tpdu.destination } } : {}),
    header: frame.header,
    message: m,
  });
  const terminal = ctx.terminals.find(h.terminalId, h.merchantId);
  if (!terminal)
    return {
      answer: reply(refusal(msg.mti, h, LINK_CODES.UNKNOWN_TERMINAL, now)),
      next: state,
      problem: new AcquirerError(
        'ACQUIRER_TERMINAL_UNKNOWN',
        `terminal "${h.terminalId}" of merchant "${h.merchantId}" is not in the terminal table`,
        LINK_CODES.UNKNOWN_TERMINAL,
      ),
    };
  const signed = (m: Iso8583Message): Iso8583Frame => reply(withMac(ctx.dialect, m, terminal.macKey));
  if (!macValid(ctx.dialect, msg, terminal.macKey))
    return {
      answer: signed(refusal(msg.mti, h, LINK_CODES.MAC_FAILED, now)),
      next: state,
      problem: new AcquirerError(
        'ACQUIRER_MAC_INVALID',
        `${msg.mti} STAN ${h.stan} from terminal ${terminal.terminalId}: field 64 ${msg.fields.has(64) ? 'does not verify' : 'is missing'}`,
        LINK_CODES.MAC_FAILED,
      ),
    };
  const t = step(state, { mti: msg.mti, terminal: terminal.terminalId, batch: h.batch, now }, ctx.signOnValidMs);
  const refuse = (code: string, why: string, next = t.next): Handled => ({
    answer: signed(refusal(msg.mti, h, code, now)),
    next,
    problem: new AcquirerError(
      'ACQUIRER_REQUEST_REFUSED',
      `${msg.mti} STAN ${h.stan} from terminal ${terminal.terminalId}: ${why}`,
      code,
    ),
  });
  switch (t.action.do) {
    case 'refuse':
      return refuse(t.action.responseCode, t.action.why);
    case 'sign-on':
      ctx.book.signOn(terminal.terminalId, h.batch);
      return {
        answer: signed(signOnResponse({ ...h, ...utcParts(now), responseCode: LINK_CODES.APPROVED })),
        next: t.next,
      };
    case 'settle-advice':
    case 'settle-upload': {
      const out = await settleRecord(ctx, terminal, h, msg);
      if ('refused' in out) return refuse(out.code, out.refused);
      const answerOf = t.action.do === 'settle-advice' ? adviceResponse : batchUploadResponse;
      const base = answerOf({ ...h, responseCode: out.responseCode });
      const answer = signed(withFields(base, [[63, out.verdict ? encodeVerdictField(out.verdict) : undefined]]));
      return { answer, next: t.next, ...(out.problem ? { problem: out.problem } : {}) };
    }
    case 'reconcile': {
      let theirs: BatchTotals;
      try {
        theirs = readTotals(msg);
      } catch (e) {
        return refuse(LINK_CODES.INVALID_TRANSACTION, (e as Error).message);
      }
      const ours = ctx.book.totals(terminal.terminalId, h.batch);
      const balanced =
        ours.debitCount === theirs.debitCount &&
        ours.debitAmount === theirs.debitAmount &&
        ours.creditCount === theirs.creditCount &&
        ours.creditAmount === theirs.creditAmount;
      if (balanced) ctx.book.close(terminal.terminalId, h.batch);
      else ctx.book.restart(terminal.terminalId, h.batch);
      const answer = settlementResponse({
        ...h,
        responseCode: LINK_CODES.APPROVED,
        settlementDate: utcParts(now).date,
        totals: ours,
        balanced,
      });
      return { answer: signed(answer), next: afterReconcile(t.next, balanced) };
    }
  }
}

/** Read the record (62), its certificate (59) and amount (4), settle it, count it. */
async function settleRecord(
  ctx: HandlerContext,
  terminal: KnownTerminal,
  h: Header,
  msg: Iso8583Message,
): Promise<AdviceOutcome | { refused: string; code: string }> {
  let record: Uint8Array;
  let certificate: Uint8Array | undefined;
  try {
    record = readRecord(msg);
    certificate = readCertificate(msg);
  } catch (e) {
    return { refused: (e as Error).message, code: LINK_CODES.INVALID_TRANSACTION };
  }
  if (typeof msg.fields.get(4) !== 'string' || typeof msg.fields.get(49) !== 'string')
    return { refused: 'fields 4 and 49 are required', code: LINK_CODES.INVALID_TRANSACTION };
  const out = await settleAdvice(ctx.core, {
    terminal: terminal.terminalId,
    isoBatch: h.batch,
    stan: h.stan,
    record,
    ...(certificate ? { certificate } : {}),
  });
  if (out.counted !== undefined && !ctx.book.note(terminal.terminalId, h.batch, h.stan, out.counted))
    return { refused: 'the batch holds 999 records already', code: LINK_CODES.INVALID_TRANSACTION };
  if (out.counted && out.counted.amount !== Number(msg.fields.get(4)))
    out.problem = new AcquirerError(
      'ACQUIRER_REQUEST_REFUSED',
      `STAN ${h.stan}: field 4 says ${Number(msg.fields.get(4))}, the signed record ${out.counted.amount}: the record counts`,
    );
  return out;
}
