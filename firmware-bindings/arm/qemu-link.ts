/**
 * A SYNCHRONOUS frame link to a qemu-system-arm process running a cardpost ARM image, so that the
 * QEMU card can be a VirtualCard (whose methods return their answers, as pcscd's vpcd driver and
 * InProcessReader want them).
 *
 * How: one helper worker thread per Node process owns every QEMU child and its stdin/stdout pipes
 * (ordinary async I/O there). A call here copies the request frame into a SharedArrayBuffer, posts
 * to the worker and sleeps in Atomics.wait until the worker has put the answer frame (or the news
 * that QEMU ended, with its exit status) back. So every call has a timeout, a crashed or cut-off
 * firmware is noticed at once with its exit status, and nothing but this thread's caller waits.
 * QEMU processes are killed on close() and when Node exits.
 */
import { Worker } from 'node:worker_threads';
import { constants as osConstants } from 'node:os';
import { CardpostError } from '../../protocol/errors.js';
import { FRAME, exitReason } from './qemu-frames.js';

// ctrl words (Int32Array over a SharedArrayBuffer, one per link)
const GEN = 0; // bumped by the worker after every event (answer, start, exit): what the caller waits on
const RESP_SEQ = 1; // sequence number of the last answered request
const RESP_LEN = 2; // bytes of the answer frame at RESP_OFF
const STARTED = 3; // 1 started, 2 could not start
const EXITED = 4; // 1 once QEMU has ended
const EXIT_CODE = 5; // its exit status (-1 if killed by a signal)
const EXIT_SIGNAL = 6; // the signal number, or 0
const PID = 7;
const ERR_LEN = 8; // bytes of stderr tail / spawn error at ERR_OFF
const CTRL_WORDS = 9;

const REQ_OFF = 0;
const RESP_OFF = 8192;
const ERR_OFF = 16384;
const DATA_BYTES = 20480;
const MAX_PAYLOAD = 8000;

/** The worker, as plain CommonJS (no loader needed, whatever runs the caller). */
const WORKER_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const links = new Map();
function bump(ctrl) { Atomics.add(ctrl, ${GEN}, 1); Atomics.notify(ctrl, ${GEN}); }
function putText(l, s) {
  const b = Buffer.from(s.slice(-3000), 'utf8');
  l.data.set(b, ${ERR_OFF});
  Atomics.store(l.ctrl, ${ERR_LEN}, b.length);
}
parentPort.on('message', (m) => {
  if (m.op === 'spawn') {
    const l = { ctrl: new Int32Array(m.ctrl), data: new Uint8Array(m.data), pending: [], buf: Buffer.alloc(0), stderr: '' };
    links.set(m.id, l);
    let child;
    try {
      child = spawn(m.cmd, m.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      putText(l, String(e && e.message || e));
      Atomics.store(l.ctrl, ${STARTED}, 2); Atomics.store(l.ctrl, ${EXITED}, 1); bump(l.ctrl);
      links.delete(m.id);
      return;
    }
    l.child = child;
    child.on('spawn', () => { Atomics.store(l.ctrl, ${PID}, child.pid); Atomics.store(l.ctrl, ${STARTED}, 1); bump(l.ctrl); });
    child.on('error', (e) => { l.stderr += String(e && e.message || e); });
    child.stdin.on('error', () => {});
    child.stderr.on('data', (c) => { l.stderr = (l.stderr + c.toString('utf8')).slice(-3000); });
    child.stdout.on('data', (c) => {
      l.buf = l.buf.length ? Buffer.concat([l.buf, c]) : c;
      while (l.buf.length >= 3) {
        const len = l.buf.readUInt16BE(1);
        if (l.buf.length < 3 + len) break;
        l.data.set(l.buf.subarray(0, 3 + len), ${RESP_OFF});
        Atomics.store(l.ctrl, ${RESP_LEN}, 3 + len);
        Atomics.store(l.ctrl, ${RESP_SEQ}, l.pending.shift() ?? -1);
        l.buf = l.buf.subarray(3 + len);
        bump(l.ctrl);
      }
    });
    child.on('close', (code, signal) => {
      putText(l, l.stderr);
      Atomics.store(l.ctrl, ${EXIT_CODE}, code === null ? -1 : code);
      Atomics.store(l.ctrl, ${EXIT_SIGNAL}, signal ? (constants.signals[signal] || 1) : 0);
      if (Atomics.load(l.ctrl, ${STARTED}) === 0) Atomics.store(l.ctrl, ${STARTED}, 2);
      Atomics.store(l.ctrl, ${EXITED}, 1);
      bump(l.ctrl);
      links.delete(m.id);
    });
  } else if (m.op === 'send') {
    const l = links.get(m.id);
    if (!l) return;
    l.pending.push(m.seq);
    l.child.stdin.write(Buffer.from(l.data.subarray(${REQ_OFF}, ${REQ_OFF} + m.len)));
  } else if (m.op === 'eof') {
    const l = links.get(m.id);
    if (l) l.child.stdin.end();
  }
});
`;

let worker: Worker | undefined;
let nextId = 1;
const livePids = new Set<number>();

function theWorker(): Worker {
  if (!worker) {
    worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    worker.unref();
    worker.on('error', () => {
      worker = undefined;
    });
    process.once('exit', () => {
      for (const pid of livePids) killQuietly(pid);
    });
  }
  return worker;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

export interface QemuLinkOptions {
  /** qemu-system-arm and its arguments. */
  command: string;
  args: string[];
  /** Milliseconds to wait for QEMU to start, and for each answer. */
  startTimeoutMs?: number;
  timeoutMs?: number;
}

export interface FrameAnswer {
  status: number;
  payload: Uint8Array;
}

/** QEMU ended (or never started) before answering: `code` is its exit status (QEMU_EXIT). */
export class QemuExited extends CardpostError {
  constructor(
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderr: string,
  ) {
    super(
      'QEMU_EXITED',
      `the ARM card under QEMU stopped: ${exitReason(exitCode, signal)}${stderr ? ` (${stderr.trim().slice(-300)})` : ''}`,
      'see the exit reason; a power cut is expected only when one was armed',
    );
  }
}

export class QemuLink {
  readonly pid: number;
  private readonly id = nextId++;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL_WORDS * 4));
  private readonly data = new Uint8Array(new SharedArrayBuffer(DATA_BYTES));
  private seq = 0;
  private readonly timeoutMs: number;
  private ended: QemuExited | undefined;

  constructor(opts: QemuLinkOptions) {
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    theWorker().postMessage({
      op: 'spawn',
      id: this.id,
      ctrl: this.ctrl.buffer,
      data: this.data.buffer,
      cmd: opts.command,
      args: opts.args,
    });
    this.waitFor(() => Atomics.load(this.ctrl, STARTED) !== 0, opts.startTimeoutMs ?? 20_000, 'start');
    if (Atomics.load(this.ctrl, STARTED) !== 1) throw this.exitError();
    this.pid = Atomics.load(this.ctrl, PID);
    livePids.add(this.pid);
  }

  /** The exit, once QEMU has ended; undefined while it runs. */
  get exit(): QemuExited | undefined {
    if (!this.ended && Atomics.load(this.ctrl, EXITED) === 1) this.ended = this.exitError();
    return this.ended;
  }

  /** One frame out, its answer back. Throws QemuExited if QEMU ends first (a power cut, a crash). */
  request(type: number, payload: Uint8Array = new Uint8Array(0)): FrameAnswer {
    const ended = this.exit;
    if (ended) throw ended;
    if (payload.length > MAX_PAYLOAD) throw new RangeError(`frame payload of ${payload.length} bytes`);
    const seq = ++this.seq;
    this.data[REQ_OFF] = type;
    this.data[REQ_OFF + 1] = payload.length >> 8;
    this.data[REQ_OFF + 2] = payload.length & 0xff;
    this.data.set(payload, REQ_OFF + 3);
    theWorker().postMessage({ op: 'send', id: this.id, seq, len: payload.length + 3 });
    this.waitFor(
      () => Atomics.load(this.ctrl, RESP_SEQ) === seq || Atomics.load(this.ctrl, EXITED) === 1,
      this.timeoutMs,
      `frame 0x${type.toString(16)}`,
    );
    if (Atomics.load(this.ctrl, RESP_SEQ) !== seq) throw this.exit ?? this.exitError();
    const len = Atomics.load(this.ctrl, RESP_LEN);
    const frame = this.data.slice(RESP_OFF, RESP_OFF + len);
    return { status: frame[0]!, payload: frame.subarray(3) };
  }

  /** Ask the firmware to stop cleanly and wait for it (kills it if it does not). */
  shutdown(timeoutMs = 5_000): void {
    if (this.exit) return;
    try {
      this.request(FRAME.EXIT);
      this.waitFor(() => Atomics.load(this.ctrl, EXITED) === 1, timeoutMs, 'exit');
    } catch {
      /* fall through to kill */
    }
    this.close();
  }

  /** Kill QEMU (between frames the firmware is idle, so nothing is half-written). Idempotent. */
  close(): void {
    if (Atomics.load(this.ctrl, EXITED) !== 1) {
      killQuietly(this.pid);
      this.waitFor(() => Atomics.load(this.ctrl, EXITED) === 1, 5_000, 'kill');
    }
    livePids.delete(this.pid);
  }

  private exitError(): QemuExited {
    const code = Atomics.load(this.ctrl, EXIT_CODE);
    const sig = Atomics.load(this.ctrl, EXIT_SIGNAL);
    const errLen = Atomics.load(this.ctrl, ERR_LEN);
    const stderr = Buffer.from(this.data.subarray(ERR_OFF, ERR_OFF + errLen)).toString('utf8');
    const signal = sig
      ? (Object.entries(osConstants.signals).find(([, n]) => n === sig)?.[0] ?? `signal ${sig}`)
      : null;
    return new QemuExited(sig ? null : code, signal, stderr);
  }

  private waitFor(done: () => boolean, timeoutMs: number, what: string): void {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const gen = Atomics.load(this.ctrl, GEN);
      if (done()) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        killQuietly(this.pid);
        throw new CardpostError(
          'QEMU_TIMEOUT',
          `the ARM card under QEMU did not answer (${what}) within ${timeoutMs} ms`,
          'the firmware hangs or QEMU is stuck; it has been killed',
        );
      }
      Atomics.wait(this.ctrl, GEN, gen, left);
    }
  }
}
