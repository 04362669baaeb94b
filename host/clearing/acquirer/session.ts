import { MTI, LINK_CODES } from '../../../protocol/iso8583/index.js';

/**
 * One terminal connection's place in the ISO 8583 dialogue (docs/iso8583.md §9), as an explicit
 * state machine: pure transitions, the time passed in. The server does what the action says
 * (settle, reconcile) and answers; nothing here does I/O.
 *
 *   not-signed-on --0800--> signed-on(batch) --0220/0221--> signed-on(batch)
 *   signed-on(batch) --0500 balanced--> closed(batch) --0800--> signed-on(next batch)
 *   signed-on(batch) --0500 out of balance--> uploading(batch) --0320--> uploading(batch) --0500--> …
 *
 * A sign-on is valid for `signOnValidMs` (CUP terminals sign on at least daily); a request for
 * another terminal or batch than the one signed on is refused with 77 (sign on first).
 */
export type SessionState =
  | { readonly kind: 'not-signed-on' }
  | { readonly kind: 'signed-on'; readonly terminal: string; readonly batch: number; readonly since: number }
  | { readonly kind: 'uploading'; readonly terminal: string; readonly batch: number; readonly since: number }
  | { readonly kind: 'closed'; readonly terminal: string; readonly batch: number; readonly since: number };

export const INITIAL_SESSION: SessionState = Object.freeze({ kind: 'not-signed-on' });

/** A request, after its terminal was identified and its MAC checked. */
export interface SessionRequest {
  readonly mti: string;
  /** The cardpost terminal id fields 41 + 42 map to. */
  readonly terminal: string;
  /** Field 60.2. */
  readonly batch: number;
  /** Milliseconds (the injected clock). */
  readonly now: number;
}

export type SessionAction =
  | { readonly do: 'sign-on' }
  | { readonly do: 'settle-advice' }
  | { readonly do: 'settle-upload' }
  | { readonly do: 'reconcile' }
  | { readonly do: 'refuse'; readonly responseCode: string; readonly why: string };

export interface Transition {
  readonly action: SessionAction;
  /** The state once the action is done; for `reconcile`, `afterReconcile` gives it. */
  readonly next: SessionState;
}

export const DEFAULT_SIGN_ON_VALID_MS = 24 * 3_600_000;

const refuse = (state: SessionState, responseCode: string, why: string): Transition => ({
  action: { do: 'refuse', responseCode, why },
  next: state,
});

export function step(state: SessionState, req: SessionRequest, signOnValidMs = DEFAULT_SIGN_ON_VALID_MS): Transition {
  if (req.mti === MTI.SIGN_ON)
    return {
      action: { do: 'sign-on' },
      next: { kind: 'signed-on', terminal: req.terminal, batch: req.batch, since: req.now },
    };
  if (state.kind === 'not-signed-on')
    return refuse(state, LINK_CODES.SIGN_ON_FIRST, 'no sign-on (0800) on this connection');
  if (state.terminal !== req.terminal)
    return refuse(state, LINK_CODES.SIGN_ON_FIRST, `signed on as terminal ${state.terminal}, not ${req.terminal}`);
  if (req.now - state.since > signOnValidMs || req.now < state.since)
    return refuse(INITIAL_SESSION, LINK_CODES.SIGN_ON_FIRST, 'the sign-on has expired: sign on again');
  if (state.batch !== req.batch)
    return refuse(state, LINK_CODES.SIGN_ON_FIRST, `signed on for batch ${state.batch}, not ${req.batch}`);
  switch (req.mti) {
    case MTI.ADVICE:
    case MTI.ADVICE_REPEAT:
      if (state.kind === 'signed-on') return { action: { do: 'settle-advice' }, next: state };
      return refuse(
        state,
        state.kind === 'closed' ? LINK_CODES.SIGN_ON_FIRST : LINK_CODES.INVALID_TRANSACTION,
        state.kind === 'closed'
          ? `batch ${state.batch} is settled: sign on for the next`
          : 'the batch is being uploaded (0320)',
      );
    case MTI.BATCH_UPLOAD:
      if (state.kind === 'uploading') return { action: { do: 'settle-upload' }, next: state };
      return refuse(state, LINK_CODES.INVALID_TRANSACTION, 'a batch upload (0320) only follows an out-of-balance 0510');
    case MTI.SETTLEMENT:
      if (state.kind === 'closed')
        return refuse(state, LINK_CODES.SIGN_ON_FIRST, `batch ${state.batch} is already settled`);
      return { action: { do: 'reconcile' }, next: state };
    default:
      return refuse(state, LINK_CODES.INVALID_TRANSACTION, `MTI ${req.mti} is not a request of the link`);
  }
}

/** After a 0500: balanced closes the batch, out of balance opens its upload. */
export function afterReconcile(state: SessionState, balanced: boolean): SessionState {
  if (state.kind === 'not-signed-on') return state;
  return { kind: balanced ? 'closed' : 'uploading', terminal: state.terminal, batch: state.batch, since: state.since };
}
