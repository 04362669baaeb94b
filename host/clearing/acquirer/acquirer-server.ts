import { createServer, type Server, type Socket } from 'node:net';
import { CardpostError } from '../../../protocol/errors.js';
import {
  decodeFrame,
  encodeFrame,
  frameLength,
  linkDialectNamed,
  type Iso8583Dialect,
  type LinkDialectName,
} from '../../../protocol/iso8583/index.js';
import type { ClearingCore } from '../clearing-core.js';
import { AcquirerError } from './acquirer-error.js';
import { BatchTotalsBook } from './batch-totals.js';
import { handleRequest, type HandlerContext } from './request-handler.js';
import { INITIAL_SESSION, type SessionState } from './session.js';
import { TerminalTable, type AcquirerTerminal } from './terminal-table.js';

export interface AcquirerOptions {
  core: ClearingCore;
  /** Loopback by default; the link carries no TLS (put one in front for another host). */
  host?: string;
  /** 0: any free port (the answer says which). */
  port?: number;
  dialect: LinkDialectName;
  terminals: readonly AcquirerTerminal[];
  /** Milliseconds since the epoch; Date.now by default. */
  clock?: () => number;
  /** A connection silent this long is closed. Default 120 s. */
  idleTimeoutMs?: number;
  /** Connections served at once; more are closed at once. Default 64. */
  maxConnections?: number;
  signOnValidMs?: number;
  /** Every frame the acquirer writes, for captures. */
  tap?: (bytes: Uint8Array) => void;
  /** Each refusal and each connection closed on bad bytes (typed errors), for the service log. */
  onProblem?: (e: CardpostError, peer: string) => void;
}

export interface RunningAcquirer {
  readonly port: number;
  readonly host: string;
  /** The per-terminal batch totals (a test may forget them to play a crash of the front end). */
  readonly totals: BatchTotalsBook;
  /** Answers written but not yet taken by their peers, over all connections (bounded by backpressure). */
  bufferedAnswerBytes(): number;
  close(): Promise<void>;
}

/**
 * The acquirer front end of the clearing service (docs/iso8583.md §9): a TCP server reading frames
 * of one dialect, one session state machine per connection, every record settled through the one
 * ClearingCore contract the HTTP API uses. Requests on a connection are handled one at a time, in
 * order. Bad bytes (a frame that does not decode, over the size limit, an MTI it cannot answer) close
 * that connection with a typed error; nothing a peer sends can end the server.
 */
export async function startAcquirer(o: AcquirerOptions): Promise<RunningAcquirer> {
  const dialect: Iso8583Dialect = linkDialectNamed(o.dialect);
  const book = new BatchTotalsBook();
  const ctx: HandlerContext = {
    core: o.core,
    dialect,
    terminals: new TerminalTable(o.terminals),
    book,
    clock: o.clock ?? Date.now,
    ...(o.signOnValidMs !== undefined ? { signOnValidMs: o.signOnValidMs } : {}),
  };
  const sockets = new Set<Socket>();
  const maxConnections = o.maxConnections ?? 64;
  const problem = (e: CardpostError, peer: string) => {
    try {
      o.onProblem?.(e, peer);
    } catch {
      // a logging hook that throws must not take the connection down with it
    }
  };
  const server: Server = createServer((socket) => {
    if (sockets.size >= maxConnections) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, ctx, dialect, o.idleTimeoutMs ?? 120_000, problem, o.tap);
  });
  server.on('error', () => undefined); // listen errors are thrown below; later ones must not crash
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    host,
    totals: book,
    bufferedAnswerBytes: () => [...sockets].reduce((n, s) => n + s.writableLength, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Requests read ahead of their answers on one connection; reading pauses beyond this. */
const MAX_PENDING_REQUESTS = 8;

function serve(
  socket: Socket,
  ctx: HandlerContext,
  dialect: Iso8583Dialect,
  idleTimeoutMs: number,
  problem: (e: CardpostError, peer: string) => void,
  tap?: (bytes: Uint8Array) => void,
): void {
  const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  let buffer: Buffer = Buffer.alloc(0);
  let state: SessionState = INITIAL_SESSION;
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  // Backpressure: stop reading while requests wait or answers go unread, so a peer that floods
  // (it needs no key: unknown terminals are answered) cannot grow this process's memory.
  let pending = 0;
  const flow = (): void => {
    if (closed) return;
    if (pending >= MAX_PENDING_REQUESTS || socket.writableNeedDrain) socket.pause();
    else socket.resume();
  };
  socket.on('drain', flow);
  const drop = (e: CardpostError) => {
    if (closed) return;
    closed = true;
    problem(e, peer);
    socket.destroy();
  };
  socket.setTimeout(idleTimeoutMs, () => {
    closed = true;
    socket.destroy();
  });
  socket.on('error', () => undefined); // a reset by the peer: 'close' follows
  socket.on('close', () => {
    closed = true;
  });
  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      let size: number | undefined;
      let frame;
      try {
        size = frameLength(dialect, buffer);
        if (size === undefined) return;
        frame = decodeFrame(dialect, buffer.subarray(0, size));
      } catch (e) {
        drop(refusedFrame(e));
        return;
      }
      buffer = buffer.subarray(size);
      const request = frame;
      pending++;
      flow();
      queue = queue.then(async () => {
        if (closed) return;
        try {
          const handled = await handleRequest(ctx, request, state);
          state = handled.next;
          if (handled.problem) problem(handled.problem, peer);
          if (!handled.answer) {
            drop(new AcquirerError('ACQUIRER_FRAME_REFUSED', `${peer}: a request that cannot be answered`));
            return;
          }
          if (closed) return;
          const bytes = encodeFrame(dialect, handled.answer);
          tap?.(bytes);
          socket.write(bytes);
        } catch (e) {
          drop(refusedFrame(e));
        } finally {
          pending--;
          flow();
        }
      });
    }
  });
}

function refusedFrame(e: unknown): CardpostError {
  if (e instanceof CardpostError && !(e instanceof AcquirerError))
    return new AcquirerError('ACQUIRER_FRAME_REFUSED', `${e.code}: ${e.message}`, undefined, { cause: e });
  if (e instanceof AcquirerError) return e;
  return new AcquirerError('ACQUIRER_FRAME_REFUSED', `unexpected failure: ${String(e)}`, undefined, { cause: e });
}
