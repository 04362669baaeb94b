import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimBank } from '../../device-sim/bank/index.js';
import { initIssuerDir, issueTerminal, type IssuerMaterial } from '../../host/issuer/issuer-dir.js';
import { DATA_FILES } from '../../host/daemon/daemon.js';
import { FINAL_STATES, type SaleSnapshot } from '../../host/sale/sale-types.js';
import { CliProcess } from './cli.js';
import type { PcscdEnv } from './pcscd.js';
import { which } from './system.js';

/**
 * One issuer and one simulated bank (in the test process, so the test reads its ledger and injects
 * faults) shared by several counters of different merchants, each a `cardpost daemon` process on real
 * pcscd — for a card that travels from shop to shop (test/integration/card-life.test.ts). Unlike
 * CounterProcesses (one counter, its own issuer and bank), the card here is a process of its own
 * (SimCardProcess) that can be moved from one vpcd slot to another with its state.
 */
export class SharedBank {
  private constructor(
    readonly dir: string,
    readonly issuer: IssuerMaterial,
    readonly bank: SimBank,
    readonly bankUrl: string,
    readonly env: PcscdEnv,
  ) {}

  static async create(env: PcscdEnv): Promise<SharedBank> {
    const dir = mkdtempSync(join(tmpdir(), 'cardpost-shared-bank-'));
    const issuer = initIssuerDir(join(dir, 'issuer'), { name: 'shared bank test issuer' });
    const bank = new SimBank({
      dbPath: join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.ca.certificate,
      authority: issuer.authority,
      faults: { seed: 14 },
    });
    const { url } = await bank.listen({ host: '127.0.0.1', port: 0 });
    return new SharedBank(dir, issuer, bank, url, env);
  }

  /** A counter of its own merchant and terminal on this bank (its daemon is not started). */
  counter(
    name: string,
    terminalId: string,
    merchantId: string,
    configExtra: Record<string, unknown> = {},
  ): BankCounter {
    const dir = join(this.dir, name);
    issueTerminal(this.issuer, terminalId, join(dir, 'terminal'));
    writeFileSync(
      join(dir, 'daemon.json'),
      JSON.stringify(
        {
          dataDir: './data',
          terminalDir: './terminal',
          merchantId,
          currency: 'CNY',
          authorityCertificate: join(this.issuer.dir, 'authority.cert'),
          bank: { url: this.bankUrl, healthIntervalMs: 300, backoffBaseMs: 50, backoffMaxMs: 500, timeoutMs: 3000 },
          api: { port: 0 },
          readers: { pcsc: true },
          log: { level: 'warn' },
          ...configExtra,
        },
        null,
        2,
      ),
    );
    return new BankCounter(dir, terminalId);
  }

  async stop(): Promise<void> {
    await this.bank.close().catch(() => undefined);
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A counter's daemon process and its local API. */
export class BankCounter {
  daemon: CliProcess | undefined;
  url = '';
  token = '';

  constructor(
    readonly dir: string,
    readonly terminalId: string,
  ) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  async startDaemon(): Promise<void> {
    const d = new CliProcess(['daemon', '--config', join(this.dir, 'daemon.json')]);
    this.daemon = d;
    const died = new Promise<never>((_, reject) =>
      d.child.once('exit', (code, signal) =>
        reject(new Error(`daemon exited during start (${signal ?? code}): ${d.lines.join('\n')}`)),
      ),
    );
    await Promise.race([d.waitFor(/cardpost daemon for terminal/, 30_000), died]);
    const info = JSON.parse(readFileSync(join(this.dataDir, DATA_FILES.info), 'utf8')) as { url: string };
    this.url = info.url;
    this.token = readFileSync(join(this.dataDir, 'api-token'), 'utf8').trim();
  }

  async stopDaemon(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = undefined;
  }

  /** Whether this counter holds a copy of the bank's revocation list (fetched on a contact). */
  hasRevocationList(): boolean {
    return existsSync(join(this.dataDir, DATA_FILES.revocations));
  }

  async api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    timeoutMs = 20_000,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(this.url + path, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** A request with a paired page's cookie instead of the token (e.g. the customer display's). */
  async asPage<T = unknown>(
    cookie: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(this.url + path, {
      method,
      headers: { Cookie: cookie, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async waitForReader(readerName: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.api<{ readers: { name: string; cardPresent: boolean }[] }>('GET', '/api/v1/readers').catch(
        () => undefined,
      );
      if (r?.body.readers?.some((x) => x.name === readerName && x.cardPresent)) return;
      if (Date.now() > deadline) throw new Error(`reader ${readerName} with a card did not appear in the daemon`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  /** Poll a sale until `pred` holds (default: until it ends). */
  async saleWhere(
    saleId: string,
    pred: (s: SaleSnapshot) => boolean = (s) => FINAL_STATES.has(s.state),
    timeoutMs = 30_000,
    pollMs = 10,
  ): Promise<SaleSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.api<SaleSnapshot>('GET', `/api/v1/sales/${saleId}`, undefined, {}, 5000);
      if (pred(s.body)) return s.body;
      if (FINAL_STATES.has(s.body.state))
        throw new Error(`sale ${saleId} ended before the condition held: ${JSON.stringify(s.body)}`);
      if (Date.now() > deadline) throw new Error(`sale ${saleId}: condition not met in ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, pollMs));
    }
  }
}

/**
 * test/support/vpcd-relay.py in front of one vpcd slot: the card connects to it instead of to vpcd, and
 * every byte passes unchanged, but vpcd's segments are acknowledged at once (TCP_QUICKACK), which takes
 * the ~40 ms delayed-ACK stall out of each APDU exchange (see the script). undefined without python3.
 */
export class VpcdRelay {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(vpcdPort: number): Promise<VpcdRelay | undefined> {
    const python = which('python3');
    if (!python) return undefined;
    const script = fileURLToPath(new URL('./vpcd-relay.py', import.meta.url));
    const child = spawn(python, [script, String(vpcdPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const port = await new Promise<number | undefined>((resolve) => {
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => resolve(undefined));
      child.once('error', () => resolve(undefined));
    });
    return port === undefined ? undefined : new VpcdRelay(child, port);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin!.end();
      this.child.kill('SIGTERM');
    });
  }
}

/**
 * `cardpost sim card` holding one simulated card on one vpcd slot, its NVM in `stateFile`: stop it
 * and start it again on another slot to carry the same card to another counter's reader. With
 * `fast`, the card reaches vpcd through a VpcdRelay (when python3 is there).
 */
export class SimCardProcess {
  proc: CliProcess | undefined;
  slot = -1;
  private readonly relays = new Map<number, VpcdRelay | undefined>();

  constructor(
    readonly env: PcscdEnv,
    readonly stateFile: string,
    readonly o: { fast?: boolean } = {},
  ) {}

  get readerName(): string {
    return this.env.readerName(this.slot);
  }

  /** Whether the card on this slot goes through the relay (false: straight to vpcd). */
  relayed(slot = this.slot): boolean {
    return this.relays.get(slot) !== undefined;
  }

  /** `blankFor`: a new blank card bound to this issuer directory (first start only). */
  async start(slot: number, o: { blankFor?: string } = {}): Promise<void> {
    this.slot = slot;
    if (this.o.fast && !this.relays.has(slot)) this.relays.set(slot, await VpcdRelay.start(this.env.port(slot)));
    const port = this.relays.get(slot)?.port ?? this.env.port(slot);
    this.proc = new CliProcess([
      'sim',
      'card',
      '--vpcd',
      `127.0.0.1:${port}`,
      '--state',
      this.stateFile,
      ...(o.blankFor ? ['--blank-for', o.blankFor] : []),
    ]);
    await this.proc.waitFor(/card 0: inserted/, 20_000);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }

  /** Stop the card and its relays. */
  async close(): Promise<void> {
    await this.stop();
    for (const r of this.relays.values()) await r?.stop();
    this.relays.clear();
  }
}
