import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Daemon } from '../daemon/daemon.js';
import { statusBody } from './status.js';

/**
 * Live events for pages and scripts as Server-Sent Events (GET /api/v1/events): `status` first
 * (the whole picture), then `sale`, `readers`, `settlement` and `queue` as they change. SSE rather
 * than WebSocket: one direction is all the pages need, browsers reconnect by themselves, and it is
 * plain HTTP through the same token check.
 */
export class EventHub {
  private readonly clients = new Set<FastifyReply>();
  private readonly detach: (() => void)[] = [];
  private readonly keepAlive: NodeJS.Timeout;
  private queueTimer: NodeJS.Timeout | undefined;

  constructor(private readonly d: Daemon) {
    const on = <T>(emitter: { on(e: string, l: (x: T) => void): unknown; off(e: string, l: (x: T) => void): unknown }, event: string, l: (x: T) => void) => {
      emitter.on(event, l);
      this.detach.push(() => emitter.off(event, l));
    };
    on(d.engine, 'sale', (s) => this.send('sale', s));
    on(d.engine, 'stored', () => this.queueChanged());
    on(d.worker, 'status', (s) => this.send('settlement', s));
    on(d.worker, 'batch', (b) => { this.send('batch', b); this.queueChanged(); });
    const readers = () => this.send('readers', { readers: d.hub.list() });
    on(d.hub, 'added', readers);
    on(d.hub, 'removed', readers);
    on(d.hub, 'changed', readers);
    this.keepAlive = setInterval(() => { for (const c of this.clients) c.raw.write(': keep-alive\n\n'); }, 15_000);
    this.keepAlive.unref();
  }

  attach(req: FastifyRequest, reply: FastifyReply): void {
    reply.hijack();
    reply.raw.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    reply.raw.write('retry: 2000\n\n');
    this.clients.add(reply);
    this.write(reply, 'status', statusBody(this.d));
    req.raw.on('close', () => this.clients.delete(reply));
  }


  /** Queue figures come from SQLite; coalesce bursts (a batch of 500) into one event. */
  private queueChanged(): void {
    if (this.queueTimer) return;
    this.queueTimer = setTimeout(() => {
      this.queueTimer = undefined;
      this.send('queue', { counts: this.d.store.statusCounts(), unsettled: this.d.store.unsettled() });
    }, 50);
  }

  private send(event: string, data: unknown): void {
    for (const c of this.clients) this.write(c, event, data);
  }

  private write(reply: FastifyReply, event: string, data: unknown): void {
    reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    clearInterval(this.keepAlive);
    if (this.queueTimer) clearTimeout(this.queueTimer);
    for (const f of this.detach) f();
    for (const c of this.clients) c.raw.end();
    this.clients.clear();
  }
}
