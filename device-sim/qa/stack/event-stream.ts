import { sleep } from './stack-errors.js';

/**
 * A client of the daemon's GET /api/v1/events (docs/host-api.md §9) that keeps reconnecting, across
 * daemon restarts and new ports, until closed. With the bearer token it is a `counter` stream, which
 * also follows every live sale (a sale the runner started is never abandoned while it runs).
 */
export class EventStream {
  private stopped = false;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    /** The daemon's URL and token now, or undefined while it is down. */
    private readonly target: () => { url: string; token: string } | undefined,
    private readonly onEvent: (event: string, data: unknown) => void,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Drop the current connection (the daemon went away): the loop reconnects when it is back. */
  drop(): void {
    this.abort?.abort();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t = this.target();
      if (t) {
        try {
          await this.follow(t.url, t.token);
        } catch {
          /* the daemon went away or restarted: connect again */
        }
      }
      if (!this.stopped) await sleep(100);
    }
  }

  private async follow(url: string, token: string): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    const res = await fetch(`${url}/api/v1/events`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
      signal: abort.signal,
    });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    let event = 'message';
    let data: string[] = [];
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (data.length > 0) this.deliver(event, data.join('\n'));
          event = 'message';
          data = [];
        } else if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        // ":" comments (keep-alive) and "retry:" need nothing
      }
    }
  }

  private deliver(event: string, text: string): void {
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      /* not JSON: kept as text */
    }
    this.onEvent(event, data);
  }
}
