import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { CardReader } from '../../protocol/transport.js';
import {
  CERT_KIND,
  TrustStore,
  verifyCertificate,
  type Certificate,
  type SigningKey,
} from '../../protocol/record/index.js';
import { randomBytes } from 'node:crypto';
import { SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { bytesEqual } from '../../protocol/bytes.js';
import { readCertificateFile, readKeyFile } from '../issuer/key-file.js';
import { HostStore } from '../store/host-store.js';
import { ReaderHub, type ReaderKind } from '../readers/reader-hub.js';
import type { ReaderSource } from '../readers/reader-source.js';
import { PcscSource } from '../transports/pcsc/index.js';
import { SaleEngine, type SaleFaultHooks } from '../sale/sale-engine.js';
import { RevokedCardBlocker } from '../sale/revoked-card.js';
import { BankClient } from '../settlement/bank-client.js';
import { SettlementWorker } from '../settlement/settlement-worker.js';
import { Iso8583Link } from '../settlement/iso8583-link.js';
import type { SettlementLink } from '../settlement/settlement-link.js';
import { RevocationKeeper } from '../settlement/revocation-keeper.js';
import { reconcile, type Reconciliation } from '../settlement/reconcile.js';
import { startApi, type ApiServer } from '../api/server.js';
import { DaemonCounterPort } from './counter-port.js';
import { CardServices } from '../card-services/card-services.js';
import type { TopupFaultHooks } from '../card-services/topup-types.js';
import { SerialTerminalSource } from '../transports/serial/index.js';
import type { TerminalChannelOptions } from '../../protocol/terminal/index.js';
import { HidSource } from '../transports/hid/index.js';
import { RemoteNodeHid, parseLoopbackEndpoint } from '../transports/hid/remote-node-hid.js';
import { attachSerialTerminal } from './serial-terminals.js';
import { ReceiptPrinter, attachReceiptPrinter } from '../printer/index.js';
import { loadOrCreateToken } from '../api/auth.js';
import type { DaemonConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { BankClock } from '../settlement/bank-clock.js';
import { checkClock, type ClockProblem } from '../sale/clock-check.js';
import { DaemonError } from './daemon-error.js';
import {
  publishInfo,
  readDaemonInfo,
  refuseConfigCollision,
  releaseLock,
  takeLock,
  type DaemonInfo,
} from './daemon-lock.js';

export { DaemonError } from './daemon-error.js';
export type { DaemonInfo } from './daemon-lock.js';
import { DATA_FILES } from './data-files.js';
export { DATA_FILES, findDaemon } from './data-files.js';

/** This daemon process's session, as its serial terminals see it in HELLO (protocol §13.7). */
const SESSION_MARK = randomBytes(3).toString('hex');

/** The lock file of older cardpost versions, only ever read: a daemon of such a version still running here is refused. */
const LEGACY_INFO_FILE = 'daemon.json';

/** Every name the daemon (or SQLite for it) writes, rewrites or deletes in the data directory. */
const WRITTEN_FILES = [
  ...Object.values(DATA_FILES),
  `${DATA_FILES.db}-wal`,
  `${DATA_FILES.db}-shm`,
  `${DATA_FILES.db}-journal`,
  `${DATA_FILES.revocations}.tmp`,
  `${DATA_FILES.bankClock}.tmp`,
];

export interface DaemonStartOptions {
  config: DaemonConfig;
  log?: Logger;
  /** Readers besides PC/SC (the demo's simulated reader, serial terminals, HID keys). */
  readers?: { reader: CardReader; kind: ReaderKind }[];
  faults?: SaleFaultHooks;
  /** Test hooks of the top-up flow (host/card-services/topup-types.ts); never set in production. */
  topupFaults?: TopupFaultHooks;
  /** Link tuning for the serial terminals (time-outs, fragment size) on unusually slow or noisy lines. */
  serialChannel?: TerminalChannelOptions;
  /** The counter's clock (ms); tests set it wrong. Default: the system clock. */
  clock?: () => number;
}

/** Load the terminal's key and certificate and check they belong together and to the issuer CA. */
export function loadTerminalCredentials(
  dir: string,
  now: number,
): { key: SigningKey; certificate: Certificate; ca: Certificate; terminalId: string } {
  const need = ['terminal.key', 'terminal.cert', 'ca.cert'];
  const missing = need.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new DaemonError(
      'TERMINAL_CREDENTIALS_MISSING',
      `the terminal directory ${dir} lacks ${missing.join(', ')}`,
      `have the issuer make them: cardpost issuer terminal --dir ISSUER_DIR --id T-01 --out ${dir}`,
    );
  }
  const key = readKeyFile(join(dir, 'terminal.key'));
  const certificate = readCertificateFile(join(dir, 'terminal.cert'));
  const ca = readCertificateFile(join(dir, 'ca.cert'));
  const check = verifyCertificate(certificate, ca, { now, kind: CERT_KIND.TERMINAL });
  if (!check.ok)
    throw new DaemonError(
      'TERMINAL_CERT_INVALID',
      `the terminal certificate in ${dir} is not valid: ${check.detail}`,
      'ask the issuer for a new terminal certificate',
    );
  if (
    !bytesEqual(certificate.publicKey, key.publicKey) ||
    SIGNATURE_ALGORITHM_CODES[key.algorithm] !== certificate.algorithm
  ) {
    throw new DaemonError(
      'TERMINAL_KEY_MISMATCH',
      `terminal.key in ${dir} is not the key of terminal.cert`,
      'put the matching pair in the directory',
    );
  }
  return { key, certificate, ca, terminalId: new TextDecoder().decode(certificate.subjectId) };
}

/**
 * One counter's daemon: the queue database, the readers, the sale engine, the settlement worker and
 * the local API, wired together. `cardpost daemon` and `cardpost demo` both run this.
 */
export class Daemon extends DaemonCounterPort {
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
    /** Where the readers come from, one ReaderSource per medium configured (PC/SC, serial terminals, HID keys). */
    private readonly sources: ReaderSource[],
    private readonly detach: (() => void)[],
    readonly revocations: RevocationKeeper,
    private api: ApiServer | undefined,
    private readonly lockFile: string,
    /** Why the clock cannot date a sale now (shown in status; new sales are refused CLOCK_WRONG). */
    readonly clockProblem: () => ClockProblem | undefined,
    /** The issuer CAs this counter accepts, with the bank's revocation list (the revocation keeper updates it). */
    readonly trust: TrustStore,
  ) {
    super();
  }

  get url(): string {
    return this.api?.url ?? '';
  }

  static async start(o: DaemonStartOptions): Promise<Daemon> {
    const c = o.config;
    const log = o.log ?? createLogger(c.log.level);
    mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
    refuseConfigCollision(c.dataDir, WRITTEN_FILES, c.configFile);
    const lockFile = join(c.dataDir, DATA_FILES.info);
    takeLock(lockFile, join(c.dataDir, LEGACY_INFO_FILE));
    const now = Math.floor(Date.now() / 1000);
    let store: HostStore | undefined;
    try {
      const cred = loadTerminalCredentials(c.terminalDir, now);
      const trust = new TrustStore();
      trust.addIssuer(cred.ca);
      for (const f of c.trustedIssuers) trust.addIssuer(readCertificateFile(f));
      store = HostStore.open(join(c.dataDir, DATA_FILES.db));
      const hub = new ReaderHub();
      const clock = o.clock ?? Date.now;
      const bankClock = new BankClock(join(c.dataDir, DATA_FILES.bankClock), clock, log);
      const clockProblem = () => {
        const newest = store!.newestRecordTime();
        return checkClock(
          { nowMs: clock(), newestRecordMs: newest === undefined ? undefined : newest * 1000, bank: bankClock.last() },
          { maxSkewMs: c.clock.maxSkewS * 1000, maxSinceBankMs: c.clock.maxDaysWithoutBank * 86_400_000 },
        );
      };
      const bank = new BankClient({
        baseUrl: c.bank.url.replace(/\/$/, ''),
        key: cred.key,
        certificate: cred.certificate,
        timeoutMs: c.bank.timeoutMs,
        onBankTime: (t) => bankClock.observe(t),
      });
      const worker = new SettlementWorker({
        store,
        bank: settlementLink(c, bank),
        batchSize: c.bank.batchSize,
        healthIntervalMs: c.bank.healthIntervalMs,
        backoff: { baseMs: c.bank.backoffBaseMs, maxMs: c.bank.backoffMaxMs },
        log,
      });
      const engine = new SaleEngine({
        store,
        trust,
        hub,
        merchantId: c.merchantId,
        terminalId: cred.terminalId,
        currency: c.currency,
        timeouts: {
          cardMs: c.sale.cardTimeoutS * 1000,
          pinMs: c.sale.pinTimeoutS * 1000,
          followMs: c.sale.followTimeoutMs,
        },
        limits: {
          perSale: c.limits.perSale,
          unsettledAmount: c.limits.unsettledAmount,
          unsettledAgeMs: c.limits.unsettledAgeHours === null ? null : c.limits.unsettledAgeHours * 3_600_000,
        },
        online: () => worker.status().online,
        revoked: new RevokedCardBlocker({ bank, trust, online: () => worker.status().online, now: clock, log }),
        log,
        clock,
        clockProblem,
        ...(o.faults ? { faults: o.faults } : {}),
      });
      engine.on('stored', () => worker.recordStored());
      const revocations = new RevocationKeeper({
        trust,
        bank,
        file: join(c.dataDir, DATA_FILES.revocations),
        log,
        ...(c.authorityCertificate ? { authority: readCertificateFile(c.authorityCertificate) } : {}),
      });
      revocations.loadSaved();
      worker.on('status', (s) => {
        if (s.online) void revocations.refresh();
      });
      const metrics = createMetrics({ store, engine, worker, hub });
      for (const r of o.readers ?? []) hub.add(r.reader, r.kind);
      // Each medium finds its readers its own way (host/transports/<medium>/); the hub takes what they find.
      const sources: ReaderSource[] = [];
      if (c.readers.pcsc)
        sources.push(
          new PcscSource({
            extendedLength: c.readers.pcscExtendedLength,
            transmitTimeoutMs: c.readers.pcscTransmitTimeoutS * 1000,
            log,
          }),
        );
      const serial = new SerialTerminalSource({
        paths: c.readers.serial,
        // A session mark new at every start: a terminal ends a PIN entry asked for by a session that is gone (§13.7).
        hostName: `cardpost ${cred.terminalId} #${SESSION_MARK}`,
        ...(o.serialChannel ? { channel: o.serialChannel } : {}),
        log,
      });
      if (serial.terminals.length > 0) sources.push(serial);
      // readers.hidEndpoint (QA): the keys are simulated ones served by `cardpost sim hid`, not node-hid's.
      const hidEndpoint = c.readers.hidEndpoint ? parseLoopbackEndpoint(c.readers.hidEndpoint) : undefined;
      if (c.readers.hid || hidEndpoint)
        sources.push(
          new HidSource({ pollIntervalMs: 1000, ...(hidEndpoint ? { hid: new RemoteNodeHid(hidEndpoint) } : {}) }),
        );
      // A sale keyed on a serial terminal runs through the engine (serial-terminals.ts).
      const detach = serial.terminals.map((terminal) => attachSerialTerminal({ terminal, engine, log }));
      try {
        for (const source of sources) {
          hub.follow(source);
          source.on('error', (e) =>
            log.warn({ readers: source.medium, err: e.message }, `${source.medium} readers: ${e.message}`),
          );
          await source.start();
        }
      } catch (e) {
        for (const d of detach) d();
        for (const source of sources) await source.stop();
        throw e;
      }
      const daemon = new Daemon(
        c,
        log,
        store,
        hub,
        engine,
        worker,
        bank,
        cred.terminalId,
        metrics,
        sources,
        detach,
        revocations,
        undefined,
        lockFile,
        clockProblem,
        trust,
      );
      // Top-up, sync and automatic sync (host/card-services/): before the API, so its routes find them.
      daemon.cardServices = new CardServices({
        config: c,
        ...{ store, hub, engine, worker, bank, trust, log },
        terminalId: cred.terminalId,
        ...(o.topupFaults ? { faults: o.topupFaults } : {}),
      });
      // Made before the API (its status and events follow it), started once the daemon is up.
      if (c.printer) daemon.printer = new ReceiptPrinter({ config: c.printer, timeZone: c.shop.timeZone, log });
      const token = loadOrCreateToken(join(c.dataDir, DATA_FILES.token));
      daemon.api = await startApi({ daemon, token, host: c.api.host, port: c.api.port, log });
      // The URL goes into the lock only while the lock is still ours (else DAEMON_LOCK_LOST, and no API left open).
      try {
        publishInfo(lockFile, {
          pid: process.pid,
          url: daemon.api.url,
          terminalId: cred.terminalId,
          startedAt: Date.now(),
        });
      } catch (e) {
        await daemon.api.close();
        throw e;
      }
      // The receipt printer (host/printer/): a paid sale's receipt is queued after its record is stored.
      if (daemon.printer) {
        detach.push(attachReceiptPrinter({ engine, printer: daemon.printer, readerInfo: (n) => hub.info(n) }));
        daemon.printer.start();
      }
      worker.start();
      log.info(
        { url: daemon.api.url, terminalId: cred.terminalId, dataDir: c.dataDir, bank: c.bank.url },
        'daemon started',
      );
      return daemon;
    } catch (e) {
      store?.close();
      releaseLock(lockFile);
      throw e;
    }
  }

  reconcile(date: string): Promise<Reconciliation> {
    return reconcile(this.store, this.bank, date, this.config.shop.timeZone);
  }

  /** "Settle now": skip the backoff, and fetch the revocation list too while the bank is there. */
  settleNow(): void {
    this.worker.poke();
    void this.revocations.refresh({ force: true });
  }

  async stop(): Promise<void> {
    this.cardServices?.close();
    this.engine.close();
    await this.api?.close();
    await this.worker.stop();
    for (const d of this.detach) d();
    await this.printer?.stop();
    for (const source of this.sources) await source.stop();
    this.store.close();
    releaseLock(this.lockFile);
    this.log.info({}, 'daemon stopped');
  }
}

/** Where batches settle (`bank.link`): the bank's HTTP API, or an acquirer over ISO 8583 (docs/iso8583.md §7). */
function settlementLink(c: DaemonConfig, bank: BankClient): SettlementLink {
  const iso = c.bank.iso8583;
  if (c.bank.link !== 'iso8583' || !iso) return bank;
  return new Iso8583Link({
    host: iso.host,
    port: iso.port,
    dialect: iso.dialect,
    terminalId: iso.terminalId,
    merchantId: iso.merchantId,
    macKey: Uint8Array.from(Buffer.from(iso.macKeyHex, 'hex')),
    timeZone: c.shop.timeZone,
    tpdu: iso.tpdu,
    header: Uint8Array.from(Buffer.from(iso.headerHex, 'hex')),
    answerTimeoutMs: iso.answerTimeoutMs,
    connectTimeoutMs: c.bank.timeoutMs,
  });
}
