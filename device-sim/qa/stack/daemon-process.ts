import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProcessRegistry, QaDaemon } from '../qa-types.js';
import { qaScript } from '../registry.js';
import { EventStream } from './event-stream.js';
import { TrackedProcess } from './processes.js';
import { QA_ERRORS, qaError } from './stack-errors.js';
import type { Timeline } from './timeline.js';

const KEEP_LOG_LINES = 2000;
/** What `cardpost daemon` prints once it serves (host/cli/daemon-command.ts). */
const READY_LINE = /cardpost daemon for terminal \S+: API (http:\/\/\S+) /;
const START_TIMEOUT_MS = 60_000;
/** `qa daemon` answers each stdin request with one such line (host/cli/qa-daemon-command.ts). */
const READER_ANSWER = /^qa-reader: (ok|error) (.*)$/;
/** …and says so when a pull fault took a card out. */
const READER_PULLED = /^qa-reader: pulled (\S+)$/;
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * The daemon as a child process, as it runs in a shop: `node --import clock-preload.mjs <cardpost>
 * daemon --config <dir>/daemon.json`, in its own process group. Its output lines are kept, its event
 * stream recorded, and its wall clock moved through the preload's offset file. With in-process readers
 * it is `cardpost qa daemon … --reader NAME=STATEFILE`, the readers and their cards inside it, driven
 * over its stdin (send()).
 */
export class DaemonProcess implements QaDaemon {
  url = '';
  token = '';
  readonly events: { t: number; event: string; data: unknown }[] = [];
  readonly logLines: string[] = [];
  private proc: TrackedProcess | undefined;
  private clockOffset = 0;
  private readonly stream: EventStream;
  private readerNames = new Set<string>();
  private answers: ((answer: { ok: boolean; text: string }) => void)[] = [];
  private sending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly o: {
      dir: string;
      configFile: string;
      dataDir: string;
      cliEntry: string;
      registry: ProcessRegistry;
      timeline: Timeline;
      /** `qa daemon --reader` arguments (NAME=STATEFILE[,t0]); none: `cardpost daemon`. */
      inProcessReaders?: string[];
      /** A pull fault took the card out of this in-process reader. */
      onPulled?: (reader: string) => void;
      /** Run once the daemon serves, before start() resolves (the in-process cards go back in). */
      afterStart?: () => Promise<void>;
    },
  ) {
    this.writeClock();
    this.stream = new EventStream(
      () => (this.running && this.url ? { url: this.url, token: this.token } : undefined),
      (event, data) => this.onEvent(event, data),
    );
  }

  get running(): boolean {
    return this.proc?.running === true;
  }

  /** The daemon's process id while it runs (for tests that check /proc). */
  get pid(): number | undefined {
    return this.running ? this.proc!.processId : undefined;
  }

  private get clockFile(): string {
    return join(this.o.dir, 'clock-offset-ms');
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.url = '';
    let ready: (url: string) => void = () => undefined;
    const readyUrl = new Promise<string>((resolve) => (ready = resolve));
    const inProcess = this.o.inProcessReaders ?? [];
    const command =
      inProcess.length > 0
        ? ['qa', 'daemon', '--config', this.o.configFile, ...inProcess.flatMap((r) => ['--reader', r])]
        : ['daemon', '--config', this.o.configFile];
    this.answers = [];
    const proc = new TrackedProcess(
      'cardpost daemon',
      process.execPath,
      ['--import', pathToFileURL(qaScript('clock-preload.mjs')).href, this.o.cliEntry, ...command],
      this.o.registry,
      {
        cwd: this.o.dir,
        env: { ...process.env, CARDPOST_QA_CLOCK_FILE: this.clockFile },
        ...(inProcess.length > 0 ? { stdio: ['pipe', 'pipe', 'pipe'] as const } : {}),
        onLine: (line, stream) => {
          this.logLines.push(line);
          if (this.logLines.length > KEEP_LOG_LINES) this.logLines.shift();
          const m = READY_LINE.exec(line);
          if (m) ready(m[1]!);
          if (stream === 'stdout') this.onReaderLine(line);
        },
      },
    );
    // A broken pipe (the daemon killed) must not crash the runner: send() sees the process gone.
    proc.child.stdin?.on('error', () => undefined);
    this.proc = proc;
    const outcome = await Promise.race([
      readyUrl,
      proc.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), START_TIMEOUT_MS).unref()),
    ]);
    if (outcome === 'exited' || outcome === 'timeout') {
      await proc.kill9();
      const last = this.logLines.slice(-5).join('\n  ');
      throw qaError(
        QA_ERRORS.stackFailed,
        `the daemon did not start (${outcome === 'timeout' ? `not ready after ${START_TIMEOUT_MS / 1000} s` : `it exited, ${proc.child.signalCode ?? `code ${proc.child.exitCode}`}`}):\n  ${last || 'no output'}`,
        `see its output in the report; its config is ${this.o.configFile}`,
      );
    }
    this.url = outcome;
    this.token = readFileSync(join(this.o.dataDir, 'api-token'), 'utf8').trim();
    this.o.timeline.add('daemon', `started (pid ${proc.processId}, ${this.url})`);
    void proc.exited.then(() => {
      if (this.proc === proc && !this.expectedExit) {
        this.o.timeline.add('daemon', `exited by itself (${proc.child.signalCode ?? `code ${proc.child.exitCode}`})`);
      }
      this.stream.drop();
    });
    this.expectedExit = false;
    this.stream.start();
    await this.o.afterStart?.();
  }

  /**
   * One request to `qa daemon`'s in-process readers; resolves on its "qa-reader: ok" answer. Requests are
   * answered in order, so they are sent one at a time.
   */
  send(line: string): Promise<void> {
    const next = this.sending.then(() => this.sendNow(line));
    this.sending = next.catch(() => undefined);
    return next;
  }

  private async sendNow(line: string): Promise<void> {
    const proc = this.proc;
    if (!proc?.running || !proc.child.stdin)
      throw qaError(QA_ERRORS.stepInvalid, `"${line}": the daemon is not running`, 'start it first (daemon: start)');
    const answer = new Promise<{ ok: boolean; text: string } | 'gone' | 'timeout'>((resolve) => {
      this.answers.push(resolve);
      void proc.exited.then(() => resolve('gone'));
      setTimeout(() => resolve('timeout'), ANSWER_TIMEOUT_MS).unref();
    });
    proc.child.stdin.write(`${line}\n`);
    const a = await answer;
    if (a === 'gone' || a === 'timeout')
      throw qaError(
        QA_ERRORS.stackFailed,
        `"${line}": the daemon ${a === 'gone' ? 'exited' : `did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`}`,
        'see the daemon output in the report',
      );
    if (!a.ok)
      throw qaError(
        QA_ERRORS.stepInvalid,
        `"${line}": ${a.text}`,
        'see docs/qa.md for what an in-process reader takes',
      );
  }

  private onReaderLine(line: string): void {
    const pulled = READER_PULLED.exec(line);
    if (pulled) {
      this.o.onPulled?.(pulled[1]!);
      return;
    }
    const m = READER_ANSWER.exec(line);
    if (m) this.answers.shift()?.({ ok: m[1] === 'ok', text: m[2]! });
  }

  private expectedExit = false;

  async stop(): Promise<void> {
    if (!this.running) return;
    this.expectedExit = true;
    await this.proc!.stop(15_000);
    this.o.timeline.add('daemon', 'stopped');
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    this.expectedExit = true;
    await this.proc!.kill9();
    this.o.timeline.add('daemon', 'killed (SIGKILL)');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  jumpClock(ms: number): void {
    this.clockOffset += ms;
    this.writeClock();
    this.o.timeline.add('runner', `daemon clock moved ${ms >= 0 ? '+' : ''}${ms} ms (now ${this.clockOffset} ms off)`);
  }

  /** The daemon's clock offset now (ms). */
  get clockOffsetMs(): number {
    return this.clockOffset;
  }

  async api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 20_000,
  ): Promise<{ status: number; body: T }> {
    if (!this.url)
      throw qaError(QA_ERRORS.stepInvalid, `${method} ${path}: the daemon is not running`, 'start it first');
    const res = await fetch(this.url + path, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON (metrics): the text */
    }
    return { status: res.status, body: parsed as T };
  }

  /** Stop the event stream and the daemon (SIGTERM, then SIGKILL). */
  async close(): Promise<void> {
    await this.stream.close();
    await this.stop();
  }

  private onEvent(event: string, data: unknown): void {
    this.events.push({ t: this.o.timeline.now(), event, data });
    if (event === 'readers' || event === 'status') {
      const readers = (data as { readers?: { name: string; cardPresent: boolean }[] } | undefined)?.readers;
      if (!Array.isArray(readers)) return;
      const now = new Set(readers.map((r) => r.name));
      for (const n of now) if (!this.readerNames.has(n)) this.o.timeline.add('daemon', `reader found: ${n}`);
      for (const n of this.readerNames) if (!now.has(n)) this.o.timeline.add('daemon', `reader gone: ${n}`);
      this.readerNames = now;
    }
  }

  /** The preload reads this file live (clock-preload.mjs); write-then-rename so it never reads half. */
  private writeClock(): void {
    const tmp = `${this.clockFile}.tmp`;
    writeFileSync(tmp, `${this.clockOffset}\n`);
    renameSync(tmp, this.clockFile);
  }
}
