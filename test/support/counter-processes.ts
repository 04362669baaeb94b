import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimBank } from '../../device-sim/bank/index.js';
import { initIssuerDir, issueTerminal, type IssuerMaterial } from '../../host/issuer/issuer-dir.js';
import { FINAL_STATES, type SaleSnapshot } from '../../host/sale/sale-types.js';
import { DATA_FILES } from '../../host/daemon/daemon.js';
import { CliProcess } from './cli.js';
import type { PcscdEnv } from './pcscd.js';

/**
 * A counter as separate processes, the way it runs in a shop: `cardpost sim card` connected to
 * real pcscd through vpcd, `cardpost daemon` reading it through libpcsclite and nfc-pcsc, and the
 * simulated bank on loopback (in the test process, so the test can read its ledger and inject faults).
 */
export class CounterProcesses {
  daemon: CliProcess | undefined;
  card: CliProcess | undefined;
  url = '';
  token = '';

  private constructor(
    readonly dir: string,
    readonly issuer: IssuerMaterial,
    readonly bank: SimBank,
    readonly bankUrl: string,
    readonly env: PcscdEnv,
    readonly slot: number,
  ) {}

  static async create(
    env: PcscdEnv,
    slot: number,
    configExtra: Record<string, unknown> = {},
  ): Promise<CounterProcesses> {
    const dir = mkdtempSync(join(tmpdir(), 'cardpost-counter-'));
    const issuer = initIssuerDir(join(dir, 'issuer'), { name: 'counter test issuer' });
    issueTerminal(issuer, 'T-PCSC-01', join(dir, 'terminal'));
    const bank = new SimBank({
      dbPath: join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.ca.certificate,
      authority: issuer.authority,
      faults: { seed: 11 },
    });
    const { url } = await bank.listen({ host: '127.0.0.1', port: 0 });
    const c = new CounterProcesses(dir, issuer, bank, url, env, slot);
    writeFileSync(
      join(dir, 'daemon.json'),
      JSON.stringify(
        {
          dataDir: './data',
          terminalDir: './terminal',
          merchantId: 'M-PCSC',
          currency: 'CNY',
          authorityCertificate: './issuer/authority.cert',
          bank: { url, healthIntervalMs: 300, backoffBaseMs: 50, backoffMaxMs: 500, timeoutMs: 3000 },
          api: { port: 0 },
          readers: { pcsc: true },
          log: { level: 'warn' },
          // `cardpost sale --pin` types the PIN here, as a counter without a customer display does.
          sale: { pinEntry: 'counter' },
          ...configExtra,
        },
        null,
        2,
      ),
    );
    return c;
  }

  get readerName(): string {
    return this.env.readerName(this.slot);
  }
  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** The simulated card on vpcd slot `slot`, personalised by this issuer (its state survives restarts). */
  async startCard(balance = '5000.00', extra: string[] = []): Promise<void> {
    this.card = new CliProcess([
      'sim',
      'card',
      '--vpcd',
      `127.0.0.1:${this.env.port(this.slot)}`,
      '--state',
      join(this.dir, 'card.json'),
      '--issuer',
      this.issuer.dir,
      '--balance',
      balance,
      ...extra,
    ]);
    await this.card.waitFor(/card 0: inserted/, 20_000);
  }

  async startDaemon(env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
    const d = new CliProcess(['daemon', '--config', join(this.dir, 'daemon.json')], env);
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
    return d;
  }

  async waitForReader(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.api<{ readers: { name: string; cardPresent: boolean }[] }>('GET', '/api/v1/readers').catch(
        () => undefined,
      );
      if (r?.body.readers?.some((x) => x.name === this.readerName && x.cardPresent)) return;
      if (Date.now() > deadline) throw new Error(`reader ${this.readerName} with a card did not appear in the daemon`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /** SIGKILL the daemon (or that one daemon process): no clean-up of any kind runs. */
  async kill9(target?: CliProcess): Promise<void> {
    const d = target ?? this.daemon;
    if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      d.child.once('exit', () => resolve());
      d.child.kill('SIGKILL');
    });
  }

  async api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 20_000,
  ): Promise<{ status: number; body: T }> {
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
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Poll a sale until it ends (or the daemon dies: then undefined). */
  async saleOutcome(saleId: string, timeoutMs = 30_000): Promise<SaleSnapshot | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let s: { status: number; body: SaleSnapshot };
      try {
        s = await this.api<SaleSnapshot>('GET', `/api/v1/sales/${saleId}`, undefined, 5000);
      } catch {
        return undefined;
      }
      if (FINAL_STATES.has(s.body.state)) return s.body;
      await new Promise((res) => setTimeout(res, 30));
    }
    throw new Error(`sale ${saleId} did not end in ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    await this.card?.stop();
    await this.bank.close().catch(() => undefined);
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
