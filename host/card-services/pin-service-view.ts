import {
  isFinal,
  type EntryNotice,
  type EntryStep,
  type PinServiceKind,
  type PinServiceState,
} from './pin-service-machine.js';
import { kindOf } from '../errors/registry.js';

/** A PIN service as the API, the CLI and both pages see it (docs/host-api.md §5.8). No digits, ever. */
export interface PinServiceView {
  serviceId: string;
  kind: PinServiceKind;
  activation: boolean;
  reader: string | null;
  state: 'waiting_card' | 'reading' | 'entry' | 'working' | 'done' | 'failed' | 'cancelled' | 'timed_out';
  /** While `entry` on the customer display: what to type. */
  step?: EntryStep;
  /** A terminal's own pad collects every entry (the display shows no keypad). */
  entryOnDevice: boolean;
  /** PIN tries left, or the PUK's at step `puk` (and on a pad doing an unblock). */
  triesLeft?: number;
  /** When the entry asked now times out (epoch ms). */
  deadline?: number;
  notice?: EntryNotice;
  error?: { code: string; message: string; hint: string; kind: string };
  cancelledBy?: 'merchant' | 'customer';
  /** The card's last four hex digits, once read. */
  cardLast4?: string;
  final: boolean;
  createdAt: number;
  updatedAt: number;
}

export function viewOf(j: PinJob): PinServiceView {
  const s = j.state;
  const at = s.at;
  return {
    serviceId: j.id,
    kind: s.kind,
    activation: s.activation,
    reader: j.reader,
    state: at.phase,
    ...(at.phase === 'entry' && at.step !== undefined ? { step: at.step } : {}),
    entryOnDevice: s.onDevice,
    ...(at.phase === 'entry' ? { triesLeft: at.triesLeft, deadline: at.deadline } : {}),
    ...(at.phase === 'entry' && at.notice ? { notice: at.notice } : {}),
    ...(at.phase === 'failed' ? { error: { ...at.error, kind: kindOf(at.error.code) } } : {}),
    ...(at.phase === 'cancelled' ? { cancelledBy: at.by } : {}),
    ...(j.cardLast4 ? { cardLast4: j.cardLast4 } : {}),
    final: isFinal(s),
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
  };
}

/** One service's live record, held by PinService. */
export interface PinJob {
  id: string;
  reader: string;
  state: PinServiceState;
  createdAt: number;
  updatedAt: number;
  cardLast4: string | undefined;
  readonly abort: AbortController;
  /** The step waiting for the customer's digits, with where to put them. */
  waiter: { step: EntryStep; put: (digits: Uint8Array) => void } | undefined;
}
