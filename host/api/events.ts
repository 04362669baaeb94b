import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CounterPort } from './port.js';
import { displayStatusBody, statusBody } from './status.js';

/**
 * Live events for pages and scripts as Server-Sent Events (GET /api/v1/events): `status` first
 * (the whole picture), then `sale`, `readers`, `settlement` and `queue` as they change. SSE rather
 * than WebSocket: one direction is all the pages need, browsers reconnect by themselves, and it is
 * plain HTTP through the same token check.
 */
export type EventView = 'counter' | 'display';

/**
 * Events the customer display receives besides its narrowed status: the sales and the PIN service (it
 * takes the customer's digits); nothing of queue, readers or settlement.
 */
const DISPLAY_EVENTS: ReadonlySet<string> = new Set(['sale', 'pinService']);

export class EventHub {
  private readonly clients = new Map<FastifyReply, EventView>();
  private readonly follow: NodeJS.Timeout;
  private readonly detach: (() => void)[] = [];
  private readonly keepAlive: NodeJS.Timeout;
  private queueTimer: NodeJS.Timeout | undefined;

  constructor(private readonly d: CounterPort) {
    this.detach.push(
      d.watch({
        sale: (s) => this.send('sale', s),
        stored: () => this.queueChanged(),
        settlement: (s) => this.send('settlement', s),
        batch: (b) => {
          this.send('batch', b);
          this.queueChanged();
        },
        readers: () => this.send('readers', { readers: d.readers() }),
        pinService: (v) => this.send('pinService', v),
        printer: (p) => this.send('printer', p),
      }),
    );
    this.keepAlive = setInterval(() => {
      for (const c of this.clients.keys()) c.raw.write(': keep-alive\n\n');
    }, 15_000);
    this.keepAlive.unref();
    // An open counter page follows the sales it shows: while one is connected, no sale counts as abandoned.
    this.follow = setInterval(() => {
      if ([...this.clients.values()].includes('counter')) d.followAllSales();
    }, 1000);
    this.follow.unref();
  }

  attach(req: FastifyRequest, reply: FastifyReply, view: EventView): void {
    reply.hijack();
    reply.raw.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    // HEAD: the headers alone. Node sends no body for HEAD, and so would never flush them to a stream
    // left open: the client would wait for ever and a counter "stream" would follow every sale.
    if (req.method === 'HEAD') {
      reply.raw.end();
      return;
    }
    reply.raw.write('retry: 2000\n\n');
    this.clients.set(reply, view);
    if (view === 'counter') this.d.followAllSales();
    this.write(reply, 'status', view === 'counter' ? statusBody(this.d) : displayStatusBody(this.d));
    req.raw.on('close', () => this.clients.delete(reply));
  }

  /** Queue figures come from SQLite; coalesce bursts (a batch of 500) into one event. */
  private queueChanged(): void {
    if (this.queueTimer) return;
    this.queueTimer = setTimeout(() => {
      this.queueTimer = undefined;
      this.send('queue', this.d.queueSummary());
    }, 50);
  }

  private send(event: string, data: unknown): void {
    for (const [c, view] of this.clients)
      if (view === 'counter' || DISPLAY_EVENTS.has(event)) this.write(c, event, data);
  }

  private write(reply: FastifyReply, event: string, data: unknown): void {
    reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    clearInterval(this.keepAlive);
    clearInterval(this.follow);
    if (this.queueTimer) clearTimeout(this.queueTimer);
    for (const f of this.detach) f();
    for (const c of this.clients.keys()) c.raw.end();
    this.clients.clear();
  }
}
