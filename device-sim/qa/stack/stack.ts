import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardpostError } from '../../../protocol/errors.js';
import type { SimHidEndpoint } from '../../hid/hid-endpoint.js';
import type { DeviceEvent, ProcessRegistry, QaCard, QaReader, QaStack, StackOptions } from '../qa-types.js';
import { StackBank } from './bank.js';
import { makeCards, type StackCard } from './cards.js';
import { writeDaemonConfig } from './daemon-config.js';
import { DaemonProcess } from './daemon-process.js';
import { CustomerDisplay } from './display.js';
import { Pcscd, VPCD_SLOTS } from './pcscd.js';
import { StackPrinter } from './printer.js';
import { QA_ERRORS, qaError, until } from './stack-errors.js';
import { HidQaReader, serveHidKeys } from './reader-hid.js';
import { InProcessQaReader } from './reader-inprocess.js';
import { PcscQaReader } from './reader-pcsc.js';
import { SerialQaReader } from './reader-serial.js';
import { Timeline } from './timeline.js';

export type StackReader = PcscQaReader | SerialQaReader | HidQaReader | InProcessQaReader;

/** Everything one scenario runs on (device-sim/qa/qa-types.ts QaStack), and what takes it down. */
export class Stack implements QaStack {
  readonly cards = new Map<string, StackCard>();
  readonly readers = new Map<string, StackReader>();
  readonly timeline: DeviceEvent[];
  bank!: StackBank;
  daemon!: DaemonProcess;
  pcscd: Pcscd | undefined;
  printer: StackPrinter | undefined;
  display: CustomerDisplay | undefined;
  hidEndpoint: SimHidEndpoint | undefined;
  private closing: Promise<void> | undefined;
  private readonly clock = new Timeline();

  constructor(
    readonly dir: string,
    private readonly registry: ProcessRegistry,
    private readonly keepDir: boolean,
  ) {
    this.timeline = this.clock.events;
  }

  /** Append to the timeline (the engine may add its own lines, e.g. source "runner"). */
  log(source: string, text: string): void {
    this.clock.add(source, text);
  }

  /** ms since the stack started, as the timeline counts. */
  now(): number {
    return this.clock.now();
  }

  get timelineClock(): Timeline {
    return this.clock;
  }

  receipts(): { lines: string[]; copy: boolean }[] {
    return this.printer?.receipts() ?? [];
  }

  async screenshot(): Promise<Uint8Array> {
    if (!this.display)
      throw qaError(
        QA_ERRORS.displayUnavailable,
        'screenshot: this scenario has no customer display',
        'add "display: true" to the scenario\'s devices',
      );
    return this.display.screenshot(this.daemon);
  }

  close(): Promise<void> {
    this.closing ??= this.takeDown();
    return this.closing;
  }

  /** Reverse order of bringing up; each part on its own, so one that fails does not leave the rest up. */
  private async takeDown(): Promise<void> {
    const steps: [string, () => Promise<void> | void][] = [
      ['display', () => this.display?.close()],
      ['daemon', () => this.daemon?.close()],
      ['hid endpoint', () => this.hidEndpoint?.close()],
      ...[...this.readers.values()].map(
        (r) =>
          [`reader ${r.name}`, () => (r instanceof SerialQaReader ? r.close() : r.remove())] as [
            string,
            () => Promise<void>,
          ],
      ),
      ['printer', () => this.printer?.close()],
      ['pcscd', () => this.pcscd?.stop()],
      ['bank', () => this.bank?.close()],
    ];
    const failures: string[] = [];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (e) {
        failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const c of this.cards.values()) c.card.powerOff();
    if (!this.keepDir) rmSync(this.dir, { recursive: true, force: true });
    this.registry.removePath(this.dir);
    this.log('runner', `stack down${failures.length ? ` (problems: ${failures.join('; ')})` : ''}`);
  }
}

/** Bring up everything one scenario needs; on any failure, take down what came up and throw. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const { devices } = opts;
  checkDevices(devices);
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-qa-'));
  opts.registry.addPath(dir);
  const stack = new Stack(dir, opts.registry, opts.keepDir === true);
  try {
    await bringUp(stack, opts);
    return stack;
  } catch (e) {
    await stack.close();
    if (e instanceof CardpostError) throw e;
    throw qaError(
      QA_ERRORS.stackFailed,
      `the QA stack did not come up: ${e instanceof Error ? e.message : String(e)}`,
      'see the timeline and the daemon output in the report',
      e,
    );
  }
}

async function bringUp(stack: Stack, opts: StackOptions): Promise<void> {
  const { devices, host, registry, seed } = opts;
  const dir = stack.dir;
  const log = (source: string) => (text: string) => stack.log(source, text);

  const issuer = host.newIssuer(join(dir, 'issuer'));
  host.newTerminal(issuer.dir, 'T-QA-01', join(dir, 'terminal'));
  const inProcessCards = new Set(devices.readers.filter((r) => r.medium === 'in-process').map((r) => r.card!));
  for (const [k, v] of await makeCards(devices.cards, {
    dir,
    seed,
    host,
    issuerDir: issuer.dir,
    log: (s, t) => stack.log(s, t),
    inProcess: inProcessCards,
  }))
    stack.cards.set(k, v);
  stack.bank = await StackBank.start({
    dir,
    issuer,
    faults: devices.bank,
    seed,
    cardIds: () => [...stack.cards.values()].map((c) => c.cardId),
    log: log('bank'),
  });

  const pcscSpecs = devices.readers.filter((r) => r.medium === 'pcsc');
  if (pcscSpecs.length > 0) stack.pcscd = await Pcscd.acquire(dir, registry, log('pcscd'));
  let slot = 0;
  const hidReaders: HidQaReader[] = [];
  const inProcess: InProcessQaReader[] = [];
  // The daemon is made below (it needs these readers' arguments); they reach it only once it runs.
  const daemonHost = {
    get running() {
      return stack.daemon?.running === true;
    },
    send: (line: string) => stack.daemon.send(line),
  };
  for (const spec of devices.readers) {
    if (spec.medium === 'pcsc') {
      const s = slot++;
      stack.readers.set(spec.id, new PcscQaReader(spec.id, s, stack.pcscd!.port(s), log(`reader:${spec.id}`)));
    } else if (spec.medium === 'serial') {
      stack.readers.set(
        spec.id,
        await SerialQaReader.start(spec, { dir, seed, registry, log: log(`terminal:${spec.id}`) }),
      );
    } else if (spec.medium === 'in-process') {
      const r = InProcessQaReader.forSpec(spec, stack.cards, daemonHost, log(`reader:${spec.id}`));
      inProcess.push(r);
      stack.readers.set(spec.id, r);
    } else {
      const r = HidQaReader.forSpec(spec, stack.cards, log(`reader:${spec.id}`));
      hidReaders.push(r);
      stack.readers.set(spec.id, r);
    }
  }
  let hidAddress: string | undefined;
  if (hidReaders.length > 0) {
    const served = await serveHidKeys(hidReaders, log('hid'));
    stack.hidEndpoint = served.endpoint;
    hidAddress = served.address;
  }
  if (devices.printer) stack.printer = await StackPrinter.start(dir, registry, log('printer'));

  // The cards that start in a reader are in before the daemon looks.
  for (const spec of devices.readers) {
    const reader = stack.readers.get(spec.id)!;
    // (An in-process reader's card goes in when its daemon starts.)
    if (spec.card && spec.medium !== 'hid' && spec.medium !== 'in-process')
      await reader.insert(cardOf(stack, spec.card));
  }

  const serial = [...stack.readers.values()].filter((r): r is SerialQaReader => r instanceof SerialQaReader);
  const config = writeDaemonConfig({
    dir,
    issuerDir: issuer.dir,
    bankUrl: stack.bank.url,
    devices,
    pcsc: pcscSpecs.length > 0,
    serial: serial.map((r) => r.hostPath),
    hidEndpoint: hidAddress,
    printer: stack.printer?.daemonConfig(),
  });
  stack.daemon = new DaemonProcess({
    dir,
    configFile: config.file,
    dataDir: config.dataDir,
    cliEntry: host.cliEntry,
    registry,
    timeline: stack.timelineClock,
    ...(inProcess.length > 0
      ? {
          inProcessReaders: inProcess.map((r) => r.daemonArg(stack.cards.get(r.card.name)!.stateFile!)),
          onPulled: (name: string) => inProcess.find((r) => r.name === name)?.pulled(),
          afterStart: async () => {
            for (const r of inProcess) await r.afterDaemonStart();
          },
        }
      : {}),
  });
  await stack.daemon.start();
  await findDaemonNames(stack);
  if (devices.display) {
    stack.display = await CustomerDisplay.launch(registry);
    stack.log('display', 'customer display launched (headless Chromium)');
  }
  stack.log('runner', 'stack up');
}

/** What the schema cannot say: refused before anything is started. */
function checkDevices(devices: StackOptions['devices']): void {
  const bad = (message: string, hint: string) => qaError(QA_ERRORS.devicesInvalid, message, hint);
  const pcsc = devices.readers.filter((r) => r.medium === 'pcsc').length;
  if (pcsc > VPCD_SLOTS)
    throw bad(
      `the scenario has ${pcsc} PC/SC readers; vpcd offers ${VPCD_SLOTS} slots`,
      `use at most ${VPCD_SLOTS} readers with medium pcsc (serial and hid readers add more)`,
    );
  const cards = new Set(devices.cards.map((c) => c.id));
  const held = new Map<string, string>();
  for (const r of devices.readers) {
    if (r.medium === 'hid' && !r.card)
      throw bad(
        `HID reader ${r.id} has no card: a HID key is its card`,
        'give the reader a card: {id, medium: hid, card: <a card of the scenario>}',
      );
    if (r.medium === 'in-process' && !r.card)
      throw bad(
        `in-process reader ${r.id} has no card: its card lives in the daemon with it`,
        'give the reader a card: {id, medium: in-process, card: <a card of the scenario>}',
      );
    if (!r.card) continue;
    if (!cards.has(r.card))
      throw bad(
        `reader ${r.id} starts with card ${r.card}, which the scenario does not have`,
        'name a card of devices.cards',
      );
    if (held.has(r.card))
      throw bad(
        `card ${r.card} starts in two readers (${held.get(r.card)} and ${r.id})`,
        'give each reader its own card',
      );
    held.set(r.card, r.id);
  }
}

function cardOf(stack: Stack, name: string): QaCard {
  return stack.cards.get(name)!; // checkDevices made sure it exists
}

/** Which of the daemon's readers is which of ours (GET /api/v1/readers), waiting until all are listed. */
async function findDaemonNames(stack: Stack): Promise<void> {
  const ours = [...stack.readers.values()];
  let lastListed: { name: string; cardPresent: boolean }[] = [];
  const found = await until(
    async () => {
      const r = await stack.daemon
        .api<{ readers?: { name: string; kind: string; cardPresent: boolean }[] }>(
          'GET',
          '/api/v1/readers',
          undefined,
          5000,
        )
        .catch(() => undefined);
      const listed = r?.body?.readers ?? [];
      lastListed = listed;
      for (const reader of ours) {
        if (reader.daemonName) continue;
        reader.daemonName = matchReader(reader, listed) ?? '';
      }
      // The scenario starts once the daemon sees every card that starts in a reader.
      const cardsSeen = ours.every(
        (x) => x.cardIn === undefined || listed.some((l) => l.name === x.daemonName && l.cardPresent),
      );
      return cardsSeen && ours.every((x) => x.daemonName) ? true : undefined;
    },
    20_000,
    100,
  );
  if (!found) {
    const missing = ours.filter((x) => !x.daemonName).map((x) => `${x.name} (${x.medium})`);
    const noCard = ours
      .filter((x) => x.cardIn && !lastListed.some((l) => l.name === x.daemonName && l.cardPresent))
      .map((x) => `${x.name} (card ${x.cardIn})`);
    throw qaError(
      QA_ERRORS.stackFailed,
      missing.length > 0
        ? `the daemon did not find reader${missing.length > 1 ? 's' : ''} ${missing.join(', ')} within 20 s`
        : `the daemon did not see the cards in ${noCard.join(', ')} within 20 s`,
      'see the daemon output in the report (pcscd, the pty or the HID endpoint)',
    );
  }
  for (const r of ours) stack.log(`reader:${r.name}`, `the daemon lists it as "${r.daemonName}"`);
}

function matchReader(reader: StackReader, listed: { name: string; kind: string }[]): string | undefined {
  if (reader instanceof SerialQaReader)
    return listed.find((l) => l.kind === 'serial-terminal' && l.name.endsWith(reader.hostPath))?.name;
  if (reader instanceof InProcessQaReader) return listed.find((l) => l.name === reader.daemonName)?.name;
  const suffix = reader.daemonNameSuffix;
  const kind = reader instanceof PcscQaReader ? 'pcsc' : 'hid-key';
  const candidates = listed.filter((l) => l.kind === kind && l.name.endsWith(suffix));
  // A pcscd already running may have real readers too: prefer vpcd's.
  return (candidates.find((l) => /vpcd|virtual pcd/i.test(l.name)) ?? candidates[0])?.name;
}

export type { QaReader };
