import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { CardStatusError, LIFECYCLE, newPinProblem } from '../../protocol/commands/index.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { withCard } from '../sale/card-opening.js';
import { realTimers, type SaleTimers } from '../sale/sale-timers.js';
import type { CardSession } from '../session/card-session.js';
import { cardGone, inputOf, PinServiceError, waitForCard, type Entry } from './pin-service-io.js';
import {
  initialPinService,
  isFinal,
  nextPinService,
  type EntryStep,
  type PinServiceEvent,
  type PinServiceKind,
  type PinServiceState,
} from './pin-service-machine.js';
import { onPad } from './pin-service-pad.js';
import { failure, isPadUnsupported, MISMATCH, UNCLEAR, verifyOrTries, weakNotice } from './pin-service-outcomes.js';
import { viewOf, type PinJob, type PinServiceView } from './pin-service-view.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

export interface PinServiceOptions {
  hub: ReaderHub;
  /** Open the card outside any sale (journal recovery and stored top-ups first: TopupService.open). */
  open: (reader: CardReader) => Promise<CardSession>;
  /** A sale may use this reader: a PIN service must not take it. */
  saleMayUse: (reader: string) => boolean;
  /** How long the customer has for each entry (the daemon's PIN time). */
  entryMs: number;
  /** The issuer lets counters unblock a PIN with the PUK (config cardServices.unblockAtCounter). */
  unblockAllowed: boolean;
  timers?: SaleTimers;
  log?: Log;
}

/** A service ended less than this long ago is still the display's "current" one (its outcome screen). */
const SHOWN_AFTER_END_MS = 120_000;
const KEEP = 20;

/**
 * The PIN service at the counter (docs/host-api.md §5.8): first-use activation and change of the PIN,
 * and unblock with the PUK, typed by the customer on the customer display's keypad or on a terminal's
 * own pad, never on the merchant's screen. The merchant starts, watches and cancels; the digits reach
 * only `entry()` (the display's route) and the card, and are wiped once the card has them.
 */
export class PinService extends EventEmitter<{ service: [PinServiceView] }> {
  private readonly jobs = new Map<string, PinJob>();
  private readonly timers: SaleTimers;

  constructor(private readonly o: PinServiceOptions) {
    super();
    this.timers = o.timers ?? realTimers();
  }

  start(req: { kind: PinServiceKind; reader?: string }): PinServiceView {
    if (req.kind === 'unblock' && !this.o.unblockAllowed)
      throw new PinServiceError(
        'PIN_UNBLOCK_NOT_ALLOWED',
        'the card issuer does not allow PIN unblocking at this counter',
        'send the holder to the issuer or a bank branch with the card and the PUK letter',
      );
    const reader = this.readerFor(req.reader);
    const now = this.timers.now();
    const job: PinJob = {
      id: randomUUID(),
      reader,
      state: initialPinService(req.kind),
      createdAt: now,
      updatedAt: now,
      cardLast4: undefined,
      abort: new AbortController(),
      waiter: undefined,
    };
    this.jobs.set(job.id, job);
    for (const old of [...this.jobs.keys()].slice(0, Math.max(0, this.jobs.size - KEEP))) this.jobs.delete(old);
    this.emit('service', viewOf(job));
    void this.run(job);
    return viewOf(job);
  }

  get(id: string): PinServiceView | undefined {
    const j = this.jobs.get(id);
    return j && viewOf(j);
  }

  /** The running service, or the last one if it ended within two minutes. */
  current(): PinServiceView | undefined {
    const last = [...this.jobs.values()].at(-1);
    if (!last) return undefined;
    if (isFinal(last.state) && this.timers.now() - last.updatedAt > SHOWN_AFTER_END_MS) return undefined;
    return viewOf(last);
  }

  /** A reader one of this service's jobs is using (so no sale or top-up takes it). */
  busy(reader: string): boolean {
    return [...this.jobs.values()].some((j) => j.reader === reader && !isFinal(j.state));
  }

  /** The customer's digits for the step the service asks (from the customer display only). */
  entry(id: string, step: EntryStep, pin: string): void {
    const job = this.mustGet(id);
    const w = job.waiter;
    if (!w || w.step !== step || job.state.at.phase !== 'entry')
      throw new PinServiceError(
        'PIN_SERVICE_NOT_ASKING',
        `the PIN service is not asking for "${step}" now`,
        'send the digits for the step the service shows (GET /api/v1/pin-services/current)',
      );
    const digits = inputOf(step, pin);
    job.waiter = undefined;
    w.put(digits);
  }

  cancel(id: string, by: 'merchant' | 'customer'): PinServiceView {
    const job = this.mustGet(id);
    if (job.state.at.phase === 'working')
      throw new PinServiceError(
        'PIN_SERVICE_CANNOT_CANCEL',
        'the card is changing the PIN now',
        'wait a moment for the result',
      );
    if (!isFinal(job.state)) {
      this.apply(job, { type: 'CANCEL', by });
      job.abort.abort(new PinServiceError('PIN_SERVICE_CANCELLED', 'cancelled', ''));
    }
    return viewOf(job);
  }

  /** End every running service (daemon stopping). */
  close(): void {
    for (const j of this.jobs.values()) if (!isFinal(j.state)) this.cancel(j.id, 'merchant');
  }

  private mustGet(id: string): PinJob {
    const job = this.jobs.get(id);
    if (!job)
      throw new PinServiceError(
        'PIN_SERVICE_NOT_FOUND',
        `no PIN service ${id}`,
        'start one with POST /api/v1/pin-services (the counter page or `cardpost card change-pin`)',
      );
    return job;
  }

  private apply(job: PinJob, e: PinServiceEvent): void {
    const next = nextPinService(job.state, e, this.o.entryMs);
    if (next === job.state) return;
    job.state = next;
    job.updatedAt = this.timers.now();
    if (isFinal(next))
      this.o.log?.info({ serviceId: job.id, kind: next.kind, outcome: next.at.phase }, 'PIN service ended');
    this.emit('service', viewOf(job));
  }

  private readerFor(name: string | undefined): string {
    const { hub } = this.o;
    let chosen = name;
    if (chosen !== undefined) {
      if (!hub.get(chosen))
        throw new PinServiceError(
          'READER_UNKNOWN',
          `no reader named "${chosen}" is connected`,
          'list the readers with `cardpost readers`',
        );
    } else {
      const all = hub.readersList();
      const holding = all.filter((r) => r.cardPresent);
      const pick = holding.length === 1 ? holding : all.length === 1 ? all : [];
      if (pick.length !== 1)
        throw new PinServiceError(
          'PIN_SERVICE_READER_REQUIRED',
          all.length === 0 ? 'no reader is connected' : 'several readers could hold the card',
          all.length === 0 ? 'connect a reader, then try again' : 'name the reader (`--reader NAME`, `reader`)',
        );
      chosen = pick[0]!.name;
    }
    if (this.o.saleMayUse(chosen) || this.busy(chosen))
      throw new PinServiceError('READER_BUSY', `${chosen} is in use`, 'finish or cancel the sale or service first');
    return chosen;
  }

  private async run(job: PinJob): Promise<void> {
    try {
      await waitForCard(this.o.hub, job.reader, this.timers, this.o.entryMs, job.abort.signal);
      await withCard(this.o.hub, job.reader, async (reader) => {
        const stop = cardGone(reader, job.abort);
        try {
          this.apply(job, { type: 'CARD_OPENED' });
          const session = await this.o.open(reader);
          job.cardLast4 = session.cardId.slice(-4);
          this.checkCard(job, session);
          const pad = reader.pinPad?.changePin ? reader.pinPad : undefined;
          this.apply(job, {
            type: 'CARD_READ',
            activation: session.info.lifecycle === LIFECYCLE.PERSONALISED,
            onDevice: pad !== undefined,
            pinTries: session.info.pinRetries,
            pukTries: session.info.pukRetries,
            now: this.timers.now(),
          });
          if (pad) {
            try {
              await onPad(pad, job, this.o.entryMs, (e) => this.apply(job, e), this.timers);
              return;
            } catch (e) {
              // Terminal firmware without PIN_ENTRY modes (§13.4): the customer display's keypad takes over.
              if (!isPadUnsupported(e)) throw e;
              this.o.log?.info({ reader: job.reader }, 'PIN pad cannot change PINs: the customer display takes over');
              this.apply(job, { type: 'PAD_UNSUPPORTED', now: this.timers.now() });
            }
          }
          await this.onDisplay(job, session);
        } finally {
          stop();
        }
      });
    } catch (e) {
      if (!isFinal(job.state))
        this.apply(job, job.state.at.phase === 'working' && e instanceof TransportError ? UNCLEAR : failure(e));
    } finally {
      job.waiter = undefined;
    }
  }

  private checkCard(job: PinJob, session: CardSession): void {
    const { lifecycle, pinRetries } = session.info;
    const blocked = lifecycle === LIFECYCLE.PIN_BLOCKED || pinRetries === 0;
    if (job.state.kind === 'change' && blocked)
      throw new PinServiceError(
        'CARD_PIN_BLOCKED',
        "the card's PIN is blocked",
        this.o.unblockAllowed
          ? 'unblock it with the PUK (Unblock PIN), then choose a new PIN'
          : 'the holder takes the card and the PUK letter to the issuer or a bank branch',
      );
    if (lifecycle === LIFECYCLE.BLOCKED)
      throw new PinServiceError(
        'CARD_BLOCKED',
        'the card was blocked by its issuer (reported lost or stolen)',
        'change nothing: keep the card and send the holder to the issuer, who keeps the balance for a refund or a new card',
      );
    if (lifecycle === LIFECYCLE.TERMINATED)
      throw new PinServiceError(
        'CARD_TERMINATED',
        'the card is terminated',
        'the holder needs a new card from the issuer',
      );
  }

  /** The customer display's keypad: each step's digits, checked here and by the card. */
  private async onDisplay(job: PinJob, session: CardSession): Promise<void> {
    let first: Uint8Array | undefined;
    let fresh: Uint8Array | undefined;
    try {
      for (;;) {
        const at = job.state.at;
        if (at.phase !== 'entry' || at.step === undefined) return;
        const digits = await this.waitFor(job, at.step, at.deadline);
        const now = this.timers.now();
        if (at.step === 'current') {
          first?.fill(0);
          first = digits;
          // Verified at once, so a wrong PIN is known before the customer chooses a new one.
          const wrong = await verifyOrTries(session, digits);
          this.apply(
            job,
            wrong === undefined ? { type: 'STEP_DONE', now } : { type: 'SECRET_WRONG', triesLeft: wrong, now },
          );
        } else if (at.step === 'puk') {
          first?.fill(0);
          first = digits;
          this.apply(job, { type: 'STEP_DONE', now });
        } else if (at.step === 'new') {
          const problem = newPinProblem(digits, job.state.kind === 'change' ? first : undefined);
          if (problem) {
            digits.fill(0);
            this.apply(job, { type: 'NEW_PIN_REFUSED', notice: weakNotice(problem), now });
          } else {
            fresh?.fill(0);
            fresh = digits;
            this.apply(job, { type: 'STEP_DONE', now });
          }
        } else {
          const same = fresh !== undefined && digits.length === fresh.length && digits.every((b, i) => b === fresh![i]);
          digits.fill(0);
          if (!same) {
            this.apply(job, { type: 'NEW_PIN_REFUSED', notice: MISMATCH, now });
            continue;
          }
          this.apply(job, { type: 'STEP_DONE', now });
          await this.work(job, session, first!, fresh!);
        }
      }
    } finally {
      first?.fill(0);
      fresh?.fill(0);
    }
  }

  private async work(job: PinJob, session: CardSession, first: Uint8Array, fresh: Uint8Array): Promise<void> {
    try {
      if (job.state.kind === 'change') await session.client.changePin(first, fresh);
      else await session.client.unblockPin(first, fresh);
      this.apply(job, { type: 'CHANGED' });
    } catch (e) {
      if (e instanceof CardStatusError && (e.statusName === 'PUK_INVALID' || e.statusName === 'PIN_INVALID')) {
        this.apply(job, { type: 'SECRET_WRONG', triesLeft: e.retries ?? 0, now: this.timers.now() });
        return;
      }
      throw e;
    }
  }

  private waitFor(job: PinJob, step: EntryStep, deadline: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const signal = job.abort.signal;
      const timer = this.timers.setTimer(
        () => {
          done();
          this.apply(job, { type: 'TIMEOUT' });
          reject(new PinServiceError('PIN_SERVICE_TIMED_OUT', 'no PIN was typed in time', ''));
        },
        Math.max(0, deadline - this.timers.now()),
      );
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      const done = () => {
        this.timers.clearTimer(timer);
        signal.removeEventListener('abort', onAbort);
        job.waiter = undefined;
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort);
      job.waiter = {
        step,
        put: (d: Uint8Array) => {
          done();
          resolve(d);
        },
      } satisfies Entry;
    });
  }
}
