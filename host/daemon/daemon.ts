import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { CardpostError } from '../../protocol/errors.js';
import type { CardReader } from '../../protocol/transport.js';
import { CERT_KIND, TrustStore, verifyCertificate, type Certificate, type SigningKey } from '../../protocol/record/index.js';
import { SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { bytesEqual } from '../../protocol/bytes.js';
import { readCertificateFile, readKeyFile } from '../issuer/key-file.js';
import { HostStore } from '../store/host-store.js';
import { ReaderHub, type ReaderKind } from '../readers/reader-hub.js';
import { PcscSupervisor } from '../readers/pcsc-supervisor.js';
import { SaleEngine, type SaleFaultHooks } from '../sale/sale-engine.js';
import { BankClient } from '../settlement/bank-client.js';
import { SettlementWorker } from '../settlement/settlement-worker.js';
import { RevocationKeeper } from '../settlement/revocation-keeper.js';
import { reconcile, type Reconciliation } from '../settlement/reconcile.js';
import { startApi, type ApiServer } from '../api/server.js';
import { SerialTerminal } from '../transports/serial/index.js';
import type { TerminalChannelOptions } from '../../protocol/terminal/index.js';
import { HidKeySource } from '../transports/hid/index.js';
import { attachSerialTerminal } from './serial-terminals.js';
import { loadOrCreateToken } from '../api/auth.js';
import type { DaemonConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';

/** Where a running daemon can be found by the CLI (written at start, removed at a clean stop). */
export interface DaemonInfo { pid: number; url: string; terminalId: string; startedAt: number }

export const DATA_FILES = { db: 'queue.sqlite', token: 'api-token', info: 'daemon.json', revocations: 'revocations.cbor' } as const;

export class DaemonError extends CardpostError {}

export interface DaemonStartOptions {
  config: DaemonConfig;
  log?: Logger;
  /** Readers besides PC/SC (the demo's simulated reader, serial terminals, HID keys). */
  readers?: { reader: CardReader; kind: ReaderKind }[];
  faults?: SaleFaultHooks;
  /** Link tuning for the serial terminals (time-outs, fragment size) on unusually slow or noisy lines. */
  serialChannel?: TerminalChannelOptions;
}

/** Load the terminal's key and certificate and check they belong together and to the issuer CA. */
export function loadTerminalCredentials(dir: string, now: number): { key: SigningKey; certificate: Certificate; ca: Certificate; terminalId: string } {
  const need = ['terminal.key', 'terminal.cert', 'ca.cert'];
  const missing = need.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new DaemonError('TERMINAL_CREDENTIALS_MISSING', `the terminal directory ${dir} lacks ${missing.join(', ')}`,
      `have the issuer make them: cardpost issuer terminal --dir ISSUER_DIR --id T-01 --out ${dir}`);
  }
  const key = readKeyFile(join(dir, 'terminal.key'));
  const certificate = readCertificateFile(join(dir, 'terminal.cert'));
  const ca = readCertificateFile(join(dir, 'ca.cert'));
  const check = verifyCertificate(certificate, ca, { now, kind: CERT_KIND.TERMINAL });
  if (!check.ok) throw new DaemonError('TERMINAL_CERT_INVALID', `the terminal certificate in ${dir} is not valid: ${check.detail}`, 'ask the issuer for a new terminal certificate');
  if (!bytesEqual(certificate.publicKey, key.publicKey) || SIGNATURE_ALGORITHM_CODES[key.algorithm] !== certificate.algorithm) {
    throw new DaemonError('TERMINAL_KEY_MISMATCH', `terminal.key in ${dir} is not the key of terminal.cert`, 'put the matching pair in the directory');
  }
  return { key, certificate, ca, terminalId: new TextDecoder().decode(certificate.subjectId) };
}

/**
 * One counter's daemon: the queue database, the readers, the sale engine, the settlement worker and
 * the local API, wired together. `cardpost daemon` and `cardpost demo` both run this.
 */
export class Daemon {
  private constructor(
    readonly config: DaemonConfig,
    readonly log: Logger,
    readonly store: HostStore,
    readonly hub: ReaderHub,
    readonly engine: SaleEngine,
    readonly worker: SettlementWorker,
    readonly bank: BankClient,
    readonly terminalId: string,
    readonly metrics: Registry,
    private readonly pcsc: PcscSupervisor | undefined,
    private readonly detach: (() => void)[],
    private readonly revocations: RevocationKeeper,
    private api: ApiServer | undefined,
    private readonly lockFile: string,
  ) {}

  get url(): string { return this.api?.url ?? ''; }

  static async start(o: DaemonStartOptions): Promise<Daemon> {
    const c = o.config;
    const log = o.log ?? createLogger(c.log.level);
    mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
    const lockFile = join(c.dataDir, DATA_FILES.info);
    takeLock(lockFile);
    const now = Math.floor(Date.now() / 1000);
    let store: HostStore | undefined;
    try {
      const cred = loadTerminalCredentials(c.terminalDir, now);
      const trust = new TrustStore();
      trust.addIssuer(cred.ca);
      for (const f of c.trustedIssuers) trust.addIssuer(readCertificateFile(f));
      store = HostStore.open(join(c.dataDir, DATA_FILES.db));
      const hub = new ReaderHub();
      const bank = new BankClient({ baseUrl: c.bank.url.replace(/\/$/, ''), key: cred.key, certificate: cred.certificate, timeoutMs: c.bank.timeoutMs });
      const worker = new SettlementWorker({
        store, bank, batchSize: c.bank.batchSize, healthIntervalMs: c.bank.healthIntervalMs,
        backoff: { baseMs: c.bank.backoffBaseMs, maxMs: c.bank.backoffMaxMs }, log,
      });
      const engine = new SaleEngine({
        store, trust, hub, merchantId: c.merchantId, terminalId: cred.terminalId, currency: c.currency,
        timeouts: { cardMs: c.sale.cardTimeoutS * 1000, pinMs: c.sale.pinTimeoutS * 1000 },
        limits: { perSale: c.limits.perSale, unsettledAmount: c.limits.unsettledAmount, unsettledAgeMs: c.limits.unsettledAgeHours === null ? null : c.limits.unsettledAgeHours * 3_600_000 },
        online: () => worker.status().online, log, ...(o.faults ? { faults: o.faults } : {}),
      });
      engine.on('stored', () => worker.recordStored());
      const revocations = new RevocationKeeper({
        trust, bank, file: join(c.dataDir, DATA_FILES.revocations), log,
        ...(c.authorityCertificate ? { authority: readCertificateFile(c.authorityCertificate) } : {}),
      });
      revocations.loadSaved();
      worker.on('status', (s) => { if (s.online) void revocations.refresh(); });
      const metrics = createMetrics({ store, engine, worker, hub });
      for (const r of o.readers ?? []) hub.add(r.reader, r.kind);
      const pcsc = c.readers.pcsc ? new PcscSupervisor(hub, { extendedLength: c.readers.pcscExtendedLength, transmitTimeoutMs: c.readers.pcscTransmitTimeoutS * 1000, log }) : undefined;
      pcsc?.start();
      const detach: (() => void)[] = [];
      for (const path of c.readers.serial) {
        const terminal = new SerialTerminal({ path, hostName: `cardpost ${cred.terminalId}`, ...(o.serialChannel ? { channel: o.serialChannel } : {}) }).start();
        const off = attachSerialTerminal({ terminal, hub, engine, log });
        detach.push(() => { off(); terminal.close(); });
      }
      if (c.readers.hid) {
        // node-hid has no hotplug events: the source polls its device list.
        const hid = await HidKeySource.open({ pollIntervalMs: 1000 });
        hid.on('reader', (reader) => hub.add(reader, 'hid-key'));
        hid.on('error', (e) => log.warn({ err: e.message }, 'HID key error'));
        detach.push(() => hid.close());
      }
      const daemon = new Daemon(c, log, store, hub, engine, worker, bank, cred.terminalId, metrics, pcsc, detach, revocations, undefined, lockFile);
      const token = loadOrCreateToken(join(c.dataDir, DATA_FILES.token));
      daemon.api = await startApi({ daemon, token, host: c.api.host, port: c.api.port, log });
      worker.start();
      const info: DaemonInfo = { pid: process.pid, url: daemon.api.url, terminalId: cred.terminalId, startedAt: Date.now() };
      writeFileSync(lockFile, JSON.stringify(info) + '\n', { mode: 0o600 });
      chmodSync(lockFile, 0o600);
      log.info({ url: daemon.api.url, terminalId: cred.terminalId, dataDir: c.dataDir, bank: c.bank.url }, 'daemon started');
      return daemon;
    } catch (e) {
      store?.close();
      releaseLock(lockFile);
      throw e;
    }
  }

  reconcile(date: string): Promise<Reconciliation> { return reconcile(this.store, this.bank, date); }

  /** "Settle now": skip the backoff, and fetch the revocation list too while the bank is there. */
  settleNow(): void {
    this.worker.poke();
    void this.revocations.refresh({ force: true });
  }

  async stop(): Promise<void> {
    this.engine.close();
    await this.api?.close();
    await this.worker.stop();
    await this.pcsc?.stop();
    for (const d of this.detach) d();
    this.store.close();
    releaseLock(this.lockFile);
    this.log.info({}, 'daemon stopped');
  }
}

/** Lock files this process holds (a second Daemon in the same process must be refused too). */
const HELD = new Set<string>();

/** One daemon per data directory. A file left by a killed daemon (its pid gone) is taken over. */
function takeLock(file: string): void {
  if (HELD.has(file)) {
    throw new DaemonError('DAEMON_RUNNING', `a cardpost daemon in this process already uses ${file.replace(/\/[^/]+$/, '')}`, 'stop it first, or give this one another data directory');
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, url: '', starting: true }) + '\n', { flag: 'wx', mode: 0o600 });
      HELD.add(file);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = readPid(file);
      if (pid !== undefined && pid !== process.pid && alive(pid)) {
        throw new DaemonError('DAEMON_RUNNING', `a cardpost daemon (pid ${pid}) already uses ${file.replace(/\/[^/]+$/, '')}`, 'stop it first, or give this one another data directory');
      }
      try { unlinkSync(file); } catch { /* raced with another starter; the next attempt decides */ }
    }
  }
  throw new DaemonError('DAEMON_RUNNING', `another cardpost daemon is starting in ${file.replace(/\/[^/]+$/, '')}`, 'wait, then try again');
}

function releaseLock(file: string): void {
  if (!HELD.delete(file)) return;
  if (readPid(file) === process.pid) { try { unlinkSync(file); } catch { /* already gone */ } }
}

function readPid(file: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** What the CLI reads to find the daemon: its info file and token, or a clear error. */
export function findDaemon(dataDir: string): { info: DaemonInfo; token: string } {
  const infoFile = join(dataDir, DATA_FILES.info);
  let info: DaemonInfo | undefined;
  try { info = JSON.parse(readFileSync(infoFile, 'utf8')) as DaemonInfo; } catch { info = undefined; }
  if (!info || !info.url || !alive(info.pid)) {
    throw new DaemonError('DAEMON_NOT_RUNNING', `no cardpost daemon is running for ${dataDir}`, 'start one with `cardpost daemon` (or `cardpost demo`), or pass --data-dir');
  }
  let token: string;
  try { token = readFileSync(join(dataDir, DATA_FILES.token), 'utf8').trim(); } catch {
    throw new DaemonError('API_TOKEN_UNREADABLE', `cannot read the API token in ${dataDir}`, 'run the CLI as the daemon\'s user');
  }
  return { info, token };
}
