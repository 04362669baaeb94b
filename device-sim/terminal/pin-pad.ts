import {
  CLA_ISO,
  INS,
  PIN_REFERENCE,
  PUK_MAX,
  PUK_MIN,
  encodePinBlock,
  isValidPin,
  newPinProblem,
  type NewPinProblem,
} from '../../protocol/commands/index.js';
import type { PinChangeOutcome, PinEntryOutcome } from '../../protocol/transport.js';
import {
  isPinVerify,
  pinChangeOutcomeFromSw,
  pinOutcomeFromSw,
  type MessageOf,
  type OutgoingResponse,
} from '../../protocol/terminal/index.js';

/** What the customer does at one PIN pad prompt: digits, or pressing Cancel, or walking away. */
export type PinAction = string | 'cancel' | 'timeout';

/**
 * Which entry the pad asks for: `pin` (the PIN for a payment), or in a PIN change `current` then
 * `new` and `confirm`; in an unblock `puk` then `new` and `confirm`.
 */
export type PinPrompt = 'pin' | 'current' | 'puk' | 'new' | 'confirm';

/** The card in the slot, as the pad reaches it (SimTerminal's SlotCard). */
export interface PadCard {
  transmit(apdu: Uint8Array): Uint8Array;
}

export interface SimPinPadOptions {
  /** Typed at a `pin` prompt when nothing is queued and there is no pinSource (the CLI's --pin). */
  defaultPin?: string;
  /** Decides every prompt (overrides the queue and defaultPin). */
  pinSource?: (request: MessageOf<'PIN_ENTRY'>, prompt: PinPrompt) => Promise<PinAction>;
  /** Older firmware: PIN_ENTRY with a mode (key 7) is refused as ERROR BAD_MESSAGE, as its decoder would. */
  noModes?: boolean;
  show(lines: string[]): void;
  /** The card in the slot now (to notice it left during the dialogue). */
  card(): PadCard | undefined;
  /** An entry began (the card is there and no other entry runs). */
  started?(m: MessageOf<'PIN_ENTRY'>): void;
}

const NOTICE: Record<NewPinProblem | 'mismatch' | 'first', string> = {
  format: 'PIN: 4-12 digits / 4-12位数字',
  repeated: 'Too simple: repeated / 太简单',
  sequence: 'Too simple: 1234… / 太简单',
  unchanged: 'Same as the old PIN / 与旧密码相同',
  mismatch: 'PINs differ, again / 两次不一致',
  first: 'Digits only / 只能输入数字',
};

type Ended = 'cancel' | 'timeout';

/**
 * The simulated terminal's PIN pad (docs/protocol.md §13.4 PIN entry): it collects the PIN (verify),
 * or the current PIN or PUK and the new PIN twice (change, unblock), re-asks the new PIN while the two
 * differ or it breaks the issuer's rule (newPinProblem), builds the ISO command with format 2 PIN
 * blocks itself and answers only the outcome. Tests script the customer with press().
 */
export class SimPinPad {
  private readonly queue: PinAction[] = [];
  private waiter: ((a: PinAction) => void) | undefined;
  private entry: { requestId: number; end: (why: Ended) => void } | undefined;

  constructor(private readonly o: SimPinPadOptions) {}

  /** Whether an entry is running (its prompts take the customer's actions). */
  get running(): boolean {
    return this.entry !== undefined;
  }

  /** Queue what the customer does at the next prompts, in order (each prompt takes one). */
  press(...actions: PinAction[]): void {
    for (const a of actions) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(a);
      } else this.queue.push(a);
    }
  }

  /** The host's CANCEL for `target`: ends the entry with that requestId, if it runs. */
  cancel(target: number): void {
    if (this.entry?.requestId === target) this.entry.end('cancel');
  }

  /** The card left the slot: the entry in progress ends. */
  abort(): void {
    this.entry?.end('cancel');
  }

  /** Run one PIN_ENTRY to its answer. */
  async run(m: MessageOf<'PIN_ENTRY'>): Promise<OutgoingResponse> {
    if (this.o.noModes && m.mode !== undefined)
      return { type: 'ERROR', code: 'BAD_MESSAGE', message: 'PIN_ENTRY message: has unknown field 7' };
    const card = this.o.card();
    if (!card) return { type: 'ERROR', code: 'NO_CARD', message: 'no card in the slot' };
    if (this.entry) return { type: 'ERROR', code: 'BUSY', message: 'a PIN entry is already in progress' };
    let end!: (why: Ended) => void;
    const ended = new Promise<Ended>((resolve) => {
      end = resolve;
    });
    const timer = setTimeout(() => end('timeout'), m.timeoutMs);
    this.entry = { requestId: m.requestId, end };
    this.o.started?.(m);
    try {
      const ask = (prompt: PinPrompt, lines: string[]) => this.ask(m, prompt, lines, ended);
      return isPinVerify(m) ? await this.verify(m, card, ask) : await this.change(m.mode, m.triesLeft, card, ask);
    } finally {
      clearTimeout(timer);
      this.entry = undefined;
      this.waiter = undefined;
    }
  }

  private async verify(
    m: MessageOf<'PIN_ENTRY'> & { amount: number },
    card: PadCard,
    ask: (prompt: PinPrompt, lines: string[]) => Promise<PinAction>,
  ): Promise<OutgoingResponse> {
    const a = await ask('pin', [
      `${(m.amount / 100).toFixed(2)}`,
      'Enter PIN / 请输入密码',
      ...(m.triesLeft !== undefined ? [`${m.triesLeft} ${m.triesLeft === 1 ? 'try' : 'tries'} left`] : []),
    ]);
    if (a === 'cancel') return { type: 'PIN_RESULT', outcome: 'cancelled' };
    if (a === 'timeout') return { type: 'PIN_RESULT', outcome: 'timeout' };
    if (this.o.card() !== card)
      return { type: 'ERROR', code: 'CARD_REMOVED', message: 'the card left the slot during PIN entry' };
    const pin = ascii(a);
    try {
      if (!isValidPin(pin))
        return { type: 'ERROR', code: 'CARD_MUTE', message: 'the card gave no PIN outcome to VERIFY' };
      return this.send(card, INS.VERIFY, [pin], pinOutcomeFromSw, 'VERIFY');
    } finally {
      pin.fill(0);
    }
  }

  /** The PIN service: the current PIN or the PUK, then the new PIN twice, then one ISO command. */
  private async change(
    mode: 'change' | 'unblock',
    triesLeft: number | undefined,
    card: PadCard,
    ask: (prompt: PinPrompt, lines: string[]) => Promise<PinAction>,
  ): Promise<OutgoingResponse> {
    const title = mode === 'change' ? 'Change PIN / 修改密码' : 'Unblock PIN / 解锁密码';
    const tries = triesLeft !== undefined ? [`${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left`] : [];
    const held: Uint8Array[] = [];
    const ended = (a: PinAction): OutgoingResponse | undefined =>
      a === 'cancel'
        ? { type: 'PIN_RESULT', outcome: 'cancelled' }
        : a === 'timeout'
          ? { type: 'PIN_RESULT', outcome: 'timeout' }
          : undefined;
    try {
      let first: Uint8Array | undefined;
      let notice: string[] = [];
      while (!first) {
        const a = await ask(mode === 'change' ? 'current' : 'puk', [
          title,
          mode === 'change' ? 'Current PIN / 当前密码' : 'PUK / 解锁码',
          ...tries,
          ...notice,
        ]);
        const stop = ended(a);
        if (stop) return stop;
        const digits = ascii(a);
        held.push(digits);
        const ok = mode === 'change' ? isValidPin(digits) : isValidPin(digits, PUK_MIN, PUK_MAX);
        if (ok) first = digits;
        else notice = [mode === 'change' ? NOTICE.format : 'PUK: 8-12 digits / 8-12位数字'];
      }
      notice = [];
      let fresh: Uint8Array | undefined;
      while (!fresh) {
        const a = await ask('new', [title, 'New PIN / 新密码', ...notice]);
        const stop = ended(a);
        if (stop) return stop;
        const candidate = ascii(a);
        held.push(candidate);
        const problem = newPinProblem(candidate, mode === 'change' ? first : undefined);
        if (problem) {
          notice = [NOTICE[problem]];
          continue;
        }
        const b = await ask('confirm', [title, 'Confirm new PIN / 确认新密码']);
        const stop2 = ended(b);
        if (stop2) return stop2;
        const again = ascii(b);
        held.push(again);
        if (again.length === candidate.length && again.every((x, i) => x === candidate[i])) fresh = candidate;
        else notice = [NOTICE.mismatch];
      }
      if (this.o.card() !== card)
        return { type: 'ERROR', code: 'CARD_REMOVED', message: 'the card left the slot during PIN entry' };
      this.o.show([title, 'Please wait / 请稍候']);
      const ins = mode === 'change' ? INS.CHANGE_REFERENCE_DATA : INS.RESET_RETRY_COUNTER;
      const r = this.send(card, ins, [first, fresh], pinChangeOutcomeFromSw, 'the PIN command');
      this.o.show([title, r.type === 'PIN_RESULT' && r.outcome === 'changed' ? 'PIN changed / 密码已修改' : '—']);
      return r;
    } finally {
      for (const h of held) h.fill(0);
    }
  }

  /** One ISO PIN command with format 2 blocks, built here: the digits go to the card and nowhere else. */
  private send(
    card: PadCard,
    ins: number,
    secrets: Uint8Array[],
    outcomeOf: (sw: number) => PinEntryOutcome | PinChangeOutcome | undefined,
    what: string,
  ): OutgoingResponse {
    const data = secrets.flatMap((s) => Array.from(encodePinBlock(s)));
    const apdu = Uint8Array.of(CLA_ISO, ins, 0x00, PIN_REFERENCE, data.length, ...data);
    let sw: number;
    try {
      const r = card.transmit(apdu);
      sw = r.length >= 2 ? (r[r.length - 2]! << 8) | r[r.length - 1]! : 0;
    } catch {
      return { type: 'ERROR', code: 'CARD_MUTE', message: 'the card stopped answering' };
    } finally {
      apdu.fill(0);
      data.fill(0);
    }
    const o = outcomeOf(sw);
    if (!o)
      return ins === INS.VERIFY
        ? { type: 'ERROR', code: 'CARD_MUTE', message: 'the card gave no PIN outcome to VERIFY' }
        : {
            type: 'ERROR',
            code: 'INTERNAL',
            message: `the card answered ${what} with status ${sw.toString(16).padStart(4, '0').toUpperCase()}`,
          };
    return o.result === 'wrong'
      ? { type: 'PIN_RESULT', outcome: 'wrong', triesLeft: o.triesLeft }
      : { type: 'PIN_RESULT', outcome: o.result };
  }

  /** Show the prompt and take the customer's next action (or the end of the entry). */
  private async ask(
    m: MessageOf<'PIN_ENTRY'>,
    prompt: PinPrompt,
    lines: string[],
    ended: Promise<Ended>,
  ): Promise<PinAction> {
    this.o.show(lines);
    let take: Promise<PinAction>;
    if (this.o.pinSource)
      take = this.o.pinSource(m, prompt).then(
        (a) => a,
        () => 'cancel' as const,
      );
    else if (this.queue.length > 0) take = Promise.resolve(this.queue.shift()!);
    else if (prompt === 'pin' && this.o.defaultPin !== undefined) take = Promise.resolve(this.o.defaultPin);
    else
      take = new Promise<PinAction>((resolve) => {
        this.waiter = resolve;
      });
    try {
      return await Promise.race([ended, take]);
    } finally {
      this.waiter = undefined;
    }
  }
}

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
