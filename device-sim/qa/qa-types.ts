import type { Certificate, SigningKey } from '../../protocol/record/index.js';
import type { VirtualCard } from '../reader/vpcd-link.js';
import type { BankFaults, CardSpec, Devices, LineFaultRatesSpec } from './scenario-schema.js';

/**
 * The contracts between the QA runner's parts (docs/qa.md, docs/architecture.md "QA runner"):
 *   scenario file ─load─► Scenario ─engine─► steps on a QaStack ─► ScenarioResult ─reports─► JUnit/JSON/HTML
 * The stack brings the real processes up (pcscd/vpcd, socat, the daemon) and the simulated devices
 * (cards, terminals, HID keys, bank, printer) in the runner's process, and takes them all down again.
 */

/**
 * What the runner needs from host/ (issuer keys, terminal certificates, personalising a card through
 * its APDUs). device-sim never imports host/: `cardpost qa` (host/cli/qa-command.ts) passes these in.
 */
export interface QaHost {
  /** Create an issuer directory (CA + top-up authority); returns what the simulated bank trusts. */
  newIssuer(dir: string): {
    dir: string;
    ca: { key: SigningKey; certificate: Certificate };
    authority: { key: SigningKey; certificate: Certificate };
  };
  /** A terminal's key and certificate for this issuer (terminal.key, terminal.cert, ca.cert in outDir). */
  newTerminal(issuerDir: string, terminalId: string, outDir: string): void;
  /** Personalise a blank simulated card through its own APDUs: id, limits, PIN, initial load. */
  personalize(
    card: VirtualCard,
    setup: {
      issuerDir: string;
      /** 8 bytes, drawn from the scenario seed so that a replay names the same cards. */
      cardId: Uint8Array;
      pin: string;
      /** Minor units. */
      balance: number;
      currency: number;
      limits: { noPin: number; perTransaction: number; offlineAmount: number; offlineCount: number };
    },
  ): Promise<{ cardId: string; puk: string }>;
  /** The `cardpost` entry the daemon is started with (bin/cardpost.mjs). */
  cliEntry: string;
}

/** One line of the device timeline (the HTML report draws these). */
export interface DeviceEvent {
  /** ms since the scenario started. */
  t: number;
  /** Which device: "daemon", "bank", "card:alice", "reader:r1", "terminal:t1", "printer", "display", "runner". */
  source: string;
  text: string;
}

/** A card of the scenario, read from the simulated applet's own state (never through the daemon). */
export interface QaCardState {
  cardId: string;
  /** Minor units. */
  balance: number;
  counter: number;
  pinTriesLeft: number;
  /** Issuer-visible lifecycle: personalised, blocked, … */
  lifecycle: string;
}

export interface QaCard {
  readonly name: string;
  readonly spec: CardSpec;
  readonly cardId: string;
  readonly puk: string;
  /** The simulated card itself (for a reader to carry). */
  readonly card: VirtualCard;
  state(): QaCardState;
}

export interface QaReader {
  readonly name: string;
  readonly medium: 'pcsc' | 'serial' | 'hid' | 'in-process';
  /** The reader's name as the daemon lists it (GET /api/v1/readers), once it is known. */
  readonly daemonName: string;
  /** The card (scenario name) in it now. */
  readonly cardIn: string | undefined;
  insert(card: QaCard): Promise<void>;
  remove(): Promise<void>;
  /** Arm: the card is pulled after it acted on the next such command (its answer is lost). */
  pullDuring(command: string): void | Promise<void>;
  /** Arm: the card hangs after it acted on the next such command. */
  stallDuring(command: string): void | Promise<void>;
  /** serial only: faults on the terminal's line (the others throw QA_STEP_INVALID). */
  lineNoise(rates: { send?: LineFaultRatesSpec; receive?: LineFaultRatesSpec }): void;
  /** serial only: PINs the terminal's pad types at its next prompts. */
  queuePins?(pins: string[]): void;
}

export interface QaBank {
  readonly url: string;
  setFaults(f: BankFaults): void;
  /** Settled rows: one per (card, counter). */
  settled(): { cardId: string; counter: number; amount: number; kind: string }[];
  revokedCards(): string[];
}

export interface QaDaemon {
  readonly url: string;
  readonly token: string;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL: no clean-up of any kind runs. */
  kill9(): Promise<void>;
  restart(): Promise<void>;
  /** Move the daemon's wall clock (a live jump; persists across restarts of this stack). */
  jumpClock(ms: number): void;
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<{ status: number; body: T }>;
  /** Every event the daemon's event stream delivered (reconnected across restarts), in order. */
  readonly events: { t: number; event: string; data: unknown }[];
  /** The daemon's own output lines (for the report when it fails). */
  readonly logLines: string[];
}

export interface QaStack {
  readonly dir: string;
  readonly cards: ReadonlyMap<string, QaCard>;
  readonly readers: ReadonlyMap<string, QaReader>;
  readonly bank: QaBank;
  readonly daemon: QaDaemon;
  /** Receipts the simulated printer decoded (devices.printer). */
  receipts(): { lines: string[]; copy: boolean }[];
  /** A PNG of the customer display (devices.display); throws QA_DISPLAY_UNAVAILABLE without one. */
  screenshot(): Promise<Uint8Array>;
  /** Everything the devices reported, in order. */
  readonly timeline: DeviceEvent[];
  /** Take everything down: processes, ptys, sockets, temporary files. Idempotent. */
  close(): Promise<void>;
}

export interface StackOptions {
  devices: Devices;
  seed: number;
  host: QaHost;
  /** Processes the stack starts are recorded here, so a killed runner's leftovers are cleaned up. */
  registry: ProcessRegistry;
  /** Keep the temporary directory (for a failing scenario's evidence). */
  keepDir?: boolean;
}

/** Children and files of one runner, written to disk as they are made (device-sim/qa/registry.ts). */
export interface ProcessRegistry {
  addProcess(pid: number, what: string): void;
  removeProcess(pid: number): void;
  addPath(path: string): void;
  removePath(path: string): void;
}

// ---- results (what the engine produces and the reports read) ----

export type StepStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface StepRecord {
  /** "3", or "4.2.1" inside repeat/oneOf. */
  path: string;
  /** The step's key: sale, insert, bank, … */
  kind: string;
  /** The step as run: random amounts and oneOf choices resolved. */
  params: unknown;
  status: StepStatus;
  /** What happened, without timings or random ids (two runs with one seed give equal results). */
  result?: unknown;
  /** For a failure: what was expected and what was found, and one line that names the difference. */
  failure?: { message: string; expected?: unknown; actual?: unknown };
  startedMs: number;
  durationMs: number;
}

export interface ScenarioResult {
  file: string;
  name: string;
  seed: number;
  status: 'passed' | 'failed' | 'error';
  steps: StepRecord[];
  timeline: DeviceEvent[];
  screenshots: { label: string; stepPath: string; png: Uint8Array }[];
  /** The stack did not come up, or the runner broke: what and what to do. */
  error?: { code: string; message: string; hint: string };
  startedAt: string;
  durationMs: number;
}

export interface RunResult {
  startedAt: string;
  durationMs: number;
  seedOverride: number | undefined;
  scenarios: ScenarioResult[];
}

export type CardSpecs = readonly CardSpec[];
