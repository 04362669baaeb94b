import { connect, createServer, type Server, type Socket } from 'node:net';
import { decodeFrame, frameLength, type Iso8583Dialect, type Iso8583Frame } from '../../protocol/iso8583/index.js';

/**
 * A TCP relay between the link and the acquirer that sees every frame each side writes: it keeps
 * their bytes (for the capture test) and can drop a chosen answer (a lost 0230) or cut the line.
 */
export class FrameProxy {
  readonly toAcquirer: Uint8Array[] = [];
  readonly toTerminal: Uint8Array[] = [];
  /** Answers for which this returns true are not passed on. */
  dropAnswer: (f: Iso8583Frame) => boolean = () => false;
  /** Called with each request before it is passed on (e.g. to play a crash of the acquirer's memory). */
  onRequest: (f: Iso8583Frame) => void = () => undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** MTIs of what each side sent, in order. */
  mtis(side: 'toAcquirer' | 'toTerminal'): string[] {
    return this[side].map((b) => decodeFrame(this.dialect, b).message.mti);
  }
  port = 0;

  constructor(
    private readonly dialect: Iso8583Dialect,
    private readonly upstreamPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: this.upstreamPort });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      this.relay(client, upstream, (bytes) => {
        this.toAcquirer.push(bytes);
        this.onRequest(decodeFrame(this.dialect, bytes));
        return true;
      });
      this.relay(upstream, client, (bytes) => {
        this.toTerminal.push(bytes);
        return !this.dropAnswer(decodeFrame(this.dialect, bytes));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  private relay(from: Socket, to: Socket, pass: (frame: Uint8Array) => boolean): void {
    let buf = Buffer.alloc(0);
    from.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const n = frameLength(this.dialect, buf);
        if (n === undefined) return;
        const frame = Uint8Array.from(buf.subarray(0, n));
        buf = buf.subarray(n);
        if (pass(frame)) to.write(frame);
      }
    });
  }

  /** Cut every connection (the line drops). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
