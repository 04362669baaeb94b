import type {
  DeviceEvent,
  QaBank,
  QaCard,
  QaCardState,
  QaDaemon,
  QaReader,
  QaStack,
  StackOptions,
} from '../../device-sim/qa/qa-types.js';
import type { BankFaults, CardSpec } from '../../device-sim/qa/scenario-schema.js';
import type { VirtualCard } from '../../device-sim/reader/vpcd-link.js';

/**
 * A QaStack without processes, for the engine's unit tests: a tiny model of the daemon's sale API
 * (a sale on a reader with a card is paid at once, above 100.00 after the right PIN), the settlement
 * and queue routes, cards as balances, and a record of what the engine did (api calls, close).
 */

const minor = (money: string): number => Math.round(Number(money) * 100);
const NO_PIN_LIMIT = 10_000;

interface FakeSale {
  saleId: string;
  amount: number;
  reader: string | undefined;
  card: FakeCard | undefined;
  state: string;
  pinTriesLeft: number | null;
  pinOnDevice: boolean;
  notice: { code: string } | null;
  error: { code: string } | null;
  receipt: { balanceAfter: number; online: boolean; counter: number } | null;
  polls: number;
}

class FakeCard implements QaCard {
  balance: number;
  counter = 0;
  pinTriesLeft = 3;
  readonly cardId: string;
  readonly puk = '12345678';
  readonly card = {} as VirtualCard;
  constructor(
    readonly name: string,
    readonly spec: CardSpec,
    index: number,
  ) {
    this.balance = minor(spec.balance);
    this.cardId = `00000000000000${String(index).padStart(2, '0')}`;
  }
  state(): QaCardState {
    return {
      cardId: this.cardId,
      balance: this.balance,
      counter: this.counter,
      pinTriesLeft: this.pinTriesLeft,
      lifecycle: 'active',
    };
  }
}

class FakeReader implements QaReader {
  cardIn: string | undefined;
  readonly daemonName: string;
  failInsert = false;
  constructor(
    readonly name: string,
    readonly medium: QaReader['medium'],
    card: string | undefined,
  ) {
    this.daemonName = `Fake Reader ${name}`;
    this.cardIn = card;
  }
  async insert(card: QaCard): Promise<void> {
    if (this.failInsert) throw new Error('the fake reader refuses cards');
    this.cardIn = card.name;
  }
  async remove(): Promise<void> {
    this.cardIn = undefined;
  }
  pullDuring(): void {}
  stallDuring(): void {}
  lineNoise(): void {}
}

export class FakeStack implements QaStack {
  readonly dir = '/nonexistent/fake-stack';
  readonly cards = new Map<string, FakeCard>();
  readonly readers = new Map<string, FakeReader>();
  readonly timeline: DeviceEvent[] = [{ t: 0, source: 'daemon', text: 'fake daemon up' }];
  readonly calls: string[] = [];
  closed = 0;
  private readonly sales = new Map<string, FakeSale>();
  private readonly settled: { cardId: string; counter: number; amount: number; kind: string }[] = [];
  private pending: { cardId: string; counter: number; amount: number }[] = [];
  private nextSale = 1;
  private faults: BankFaults = {};

  constructor(readonly opts: StackOptions) {
    opts.devices.cards.forEach((c, i) => this.cards.set(c.id, new FakeCard(c.id, c, i)));
    for (const r of opts.devices.readers) this.readers.set(r.id, new FakeReader(r.id, r.medium, r.card));
  }

  readonly bank: QaBank = {
    url: 'http://127.0.0.1:1/',
    setFaults: (f) => {
      this.faults = f;
    },
    settled: () => [...this.settled],
    revokedCards: () => [],
  };

  readonly daemon: QaDaemon = {
    url: 'http://127.0.0.1:2/',
    token: 'fake',
    running: true,
    start: async () => {},
    stop: async () => {},
    kill9: async () => {},
    restart: async () => {},
    jumpClock: () => {},
    events: [],
    logLines: [],
    api: async <T>(method: string, path: string, body?: unknown) => {
      this.calls.push(`${method} ${path}`);
      return this.route(method, path, body as Record<string, unknown> | undefined) as { status: number; body: T };
    },
  };

  receipts(): { lines: string[]; copy: boolean }[] {
    return [];
  }
  async screenshot(): Promise<Uint8Array> {
    return new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  }
  async close(): Promise<void> {
    this.closed++;
  }

  private route(
    method: string,
    path: string,
    body: Record<string, unknown> | undefined,
  ): { status: number; body: unknown } {
    if (method === 'POST' && path === '/api/v1/sales') return this.startSale(body ?? {});
    const m = /^\/api\/v1\/sales\/([^/]+)(?:\/(pin|cancel))?$/.exec(path);
    if (m) {
      const sale = this.sales.get(m[1]!);
      if (!sale) return err(404, 'SALE_NOT_FOUND');
      if (m[2] === 'pin') return this.typePin(sale, String(body?.pin));
      if (m[2] === 'cancel') {
        if (!['done', 'failed', 'cancelled'].includes(sale.state)) sale.state = 'cancelled';
        return { status: 200, body: sale };
      }
      this.advance(sale);
      return { status: 200, body: sale };
    }
    if (path === '/api/v1/settlement') {
      if (method === 'POST' && !this.faults.down) {
        for (const p of this.pending) this.settled.push({ ...p, kind: 'sale' });
        this.pending = [];
      }
      return {
        status: method === 'POST' ? 202 : 200,
        body: { online: !this.faults.down, state: 'idle', unsettled: { count: this.pending.length } },
      };
    }
    if (path.startsWith('/api/v1/queue'))
      return {
        status: 200,
        body: {
          summary: {
            counts: { pending: { count: this.pending.length }, settled: { count: this.settled.length } },
          },
        },
      };
    return err(404, 'NOT_FOUND');
  }

  private startSale(body: Record<string, unknown>): { status: number; body: unknown } {
    const amount = body.amount as number;
    if (amount > 200_000) return err(422, 'OFFLINE_LIMIT_PER_SALE');
    const reader = [...this.readers.values()].find((r) => r.daemonName === body.reader);
    const sale: FakeSale = {
      saleId: `sale-${this.nextSale++}-${Math.random().toString(16).slice(2)}`,
      amount,
      reader: reader?.daemonName,
      card: reader?.cardIn ? this.cards.get(reader.cardIn) : undefined,
      state: 'waiting_card',
      pinTriesLeft: null,
      pinOnDevice: false,
      notice: null,
      error: null,
      receipt: null,
      polls: 0,
    };
    this.sales.set(sale.saleId, sale);
    return { status: 201, body: sale };
  }

  private advance(sale: FakeSale): void {
    if (sale.state !== 'waiting_card') return;
    if (!sale.card) {
      const reader = [...this.readers.values()].find((r) => r.daemonName === sale.reader);
      sale.card = reader?.cardIn ? this.cards.get(reader.cardIn) : undefined;
    }
    if (!sale.card) {
      // no card comes: the sale times out after a few looks (the daemon's card wait, shortened)
      if (++sale.polls >= 3) sale.state = 'timed_out';
      return;
    }
    if (sale.amount > NO_PIN_LIMIT) {
      sale.state = 'pin';
      sale.pinTriesLeft = sale.card.pinTriesLeft;
    } else this.pay(sale);
  }

  private typePin(sale: FakeSale, pin: string): { status: number; body: unknown } {
    if (sale.state !== 'pin' || !sale.card) return err(409, 'SALE_NOT_ASKING_PIN');
    if (pin === sale.card.spec.pin) this.pay(sale);
    else {
      sale.card.pinTriesLeft--;
      sale.pinTriesLeft = sale.card.pinTriesLeft;
      sale.notice = { code: 'PIN_WRONG' };
      if (sale.card.pinTriesLeft === 0) {
        sale.state = 'failed';
        sale.error = { code: 'CARD_PIN_BLOCKED' };
      }
    }
    return { status: 202, body: { accepted: true } };
  }

  private pay(sale: FakeSale): void {
    const card = sale.card!;
    if (card.balance < sale.amount) {
      sale.state = 'failed';
      sale.error = { code: 'CARD_INSUFFICIENT_FUNDS' };
      return;
    }
    card.balance -= sale.amount;
    card.counter++;
    this.pending.push({ cardId: card.cardId, counter: card.counter, amount: sale.amount });
    sale.state = 'done';
    sale.receipt = { balanceAfter: card.balance, online: !this.faults.down, counter: card.counter };
  }
}

const err = (status: number, code: string) => ({ status, body: { error: { code, message: code, hint: '' } } });

/** startStack for the engine: a new FakeStack per scenario, kept for the test to look at. */
export function fakeStarter(): { stacks: FakeStack[]; startStack(opts: StackOptions): Promise<QaStack> } {
  const stacks: FakeStack[] = [];
  return {
    stacks,
    startStack: async (opts) => {
      const s = new FakeStack(opts);
      stacks.push(s);
      return s;
    },
  };
}
