import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Device } from 'node-hid';
import {
  HID_BROADCAST_CID,
  HID_PROTOCOL_VERSION,
  HidCapability,
  HidCommand,
  HidErrorByte,
  HidReassembler,
  KeepaliveStatus,
  encodeInitResponse,
  errorPacket,
  keepalivePacket,
  packetize,
  type HidEvent,
} from '../../protocol/framing/hid-packet.js';
import {
  CARDPOST_HID_USAGE,
  CARDPOST_HID_USAGE_PAGE,
  HID_KEEPALIVE_INTERVAL_MS,
  SIM_HID_PRODUCT_ID,
  SIM_HID_VENDOR_ID,
} from '../../protocol/framing/hid-key.js';
import type { VirtualCard } from '../reader/vpcd-link.js';

/**
 * A simulated USB HID card key: a card (normally a CardApplet) behind the CTAPHID-style link of
 * docs/protocol.md §11. This file is the key's firmware side — channel allocation, reassembly,
 * busy/keepalive/cancel, error packets. The OS side that a host program sees (node-hid's device
 * list and device objects, report-id byte on write) is sim-node-hid.ts / sim-hid-device.ts.
 *
 * Why simulate at node-hid's API and not lower: the machines this runs on have no /dev/uhid and no
 * hidraw, so a virtual kernel HID device cannot be created. The seam is therefore node-hid's own
 * surface, which the host transport uses unchanged with real keys.
 */

export interface SimHidKeyOptions {
  serialNumber?: string;
  product?: string;
  manufacturer?: string;
  vendorId?: number;
  productId?: number;
  /** KEEPALIVE cadence while the card works (default 100 ms, §11.10). */
  keepaliveIntervalMs?: number;
  /** A message in progress that stalls this long is dropped with MSG_TIMEOUT (default 3000 ms, §11.7). */
  messageTimeoutMs?: number;
  /** Time the card takes per APDU (default 0); keepalives flow meanwhile. Also settable in `faults`. */
  cardLatencyMs?: number;
  /** Channels remembered; the oldest is forgotten beyond this (bounded memory under INIT floods). */
  maxChannels?: number;
  /** Start plugged in (default true). */
  plugged?: boolean;
}

/** Knobs tests turn at run time. */
export interface SimHidKeyFaults {
  cardLatencyMs: number;
  sendKeepalive: boolean;
  /** Swallow every complete message and never answer (host time-out tests). */
  mute: boolean;
  /** Called for each report from the host before the key sees it; return false to lose it on the wire. */
  fromHost?: (report: Uint8Array) => boolean;
  /** Called for each report to the host; return false to lose it. May unplug the key (mid-message tests). */
  toHost?: (report: Uint8Array) => boolean;
}

export interface SimHidKeyStats {
  reportsIn: number;
  reportsOut: number;
  messages: number;
  keepalives: number;
  cardCommands: number;
  winks: number;
  /** Reassembly and link errors by code (HID_CHANNEL_BUSY, HID_INVALID_SEQ, …, and LINK_* for link-level ones). */
  errors: Record<string, number>;
}

/** What an opened device object registers with the key (one per open handle, as hidraw file descriptors). */
export interface SimHidPort {
  /** An input report for the host (every open handle gets every report, as with hidraw). */
  receive(report: Uint8Array): void;
  /** The key was pulled: the handle is dead for good. */
  unplugged(): void;
}

interface CardJob {
  cid: number;
  timer: NodeJS.Timeout | undefined;
  keepalive: NodeJS.Timeout | undefined;
}

const DEVICE_VERSION = { major: 1, minor: 0, build: 0 };
let serialCounter = 0;

export class SimHidKey extends EventEmitter<{ plugged: []; unplugged: [] }> {
  readonly faults: SimHidKeyFaults;
  readonly stats: SimHidKeyStats = {
    reportsIn: 0,
    reportsOut: 0,
    messages: 0,
    keepalives: 0,
    cardCommands: 0,
    winks: 0,
    errors: {},
  };
  readonly serialNumber: string;
  private readonly product: string;
  private readonly manufacturer: string;
  private readonly vendorId: number;
  private readonly productId: number;
  private readonly keepaliveMs: number;
  private readonly maxChannels: number;
  private readonly reassembler: HidReassembler;
  private readonly channels = new Set<number>();
  private readonly ports = new Set<SimHidPort>();
  private nextCid: number;
  private busy: CardJob | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private isPlugged = false;
  private plugCount = 0;

  constructor(
    readonly card: VirtualCard,
    opts: SimHidKeyOptions = {},
  ) {
    super();
    this.serialNumber = opts.serialNumber ?? `SIMKEY${String(++serialCounter).padStart(4, '0')}`;
    this.product = opts.product ?? 'cardpost simulated card key';
    this.manufacturer = opts.manufacturer ?? 'cardpost';
    this.vendorId = opts.vendorId ?? SIM_HID_VENDOR_ID;
    this.productId = opts.productId ?? SIM_HID_PRODUCT_ID;
    this.keepaliveMs = opts.keepaliveIntervalMs ?? HID_KEEPALIVE_INTERVAL_MS;
    this.maxChannels = opts.maxChannels ?? 32;
    this.faults = { cardLatencyMs: opts.cardLatencyMs ?? 0, sendKeepalive: true, mute: false };
    this.reassembler = new HidReassembler({
      mode: 'single',
      timeoutMs: opts.messageTimeoutMs ?? 3000,
      acceptReportId: false,
    });
    // Random first CID, so a replugged key does not hand out the CIDs of its previous life.
    this.nextCid = Buffer.from(randomBytes(4)).readUInt32BE(0);
    if (opts.plugged ?? true) this.plug();
  }

  get plugged(): boolean {
    return this.isPlugged;
  }

  /** The node-hid devices() entry while plugged. The path changes at every plug, as /dev/hidrawN does. */
  get info(): Device {
    return {
      vendorId: this.vendorId,
      productId: this.productId,
      path: `sim-hid:${this.serialNumber}:${this.plugCount}`,
      serialNumber: this.serialNumber,
      manufacturer: this.manufacturer,
      product: this.product,
      release: 0x0100,
      interface: 0,
      usagePage: CARDPOST_HID_USAGE_PAGE,
      usage: CARDPOST_HID_USAGE,
    };
  }

  /** Plug the key in: the card gets power; no channel survives from before. */
  plug(): void {
    if (this.isPlugged) return;
    this.isPlugged = true;
    this.plugCount++;
    this.card.powerOn();
    this.emit('plugged');
  }

  /** Pull the key: work in progress is lost, every open handle dies (node-hid reports a read error). */
  unplug(): void {
    if (!this.isPlugged) return;
    this.isPlugged = false;
    if (this.busy) this.finish(this.busy);
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = undefined;
    this.reassembler.abort();
    this.channels.clear();
    this.card.powerOff();
    const ports = [...this.ports];
    this.ports.clear();
    for (const p of ports) p.unplugged();
    this.emit('unplugged');
  }

  /** @internal node-hid device objects register here when opened. */
  connect(port: SimHidPort): void {
    if (!this.isPlugged) throw new Error(`cannot open device with path ${this.info.path}`);
    this.ports.add(port);
  }

  /** @internal */
  disconnect(port: SimHidPort): void {
    this.ports.delete(port);
  }

  /** Channels currently allocated (for tests). */
  allocatedChannels(): number[] {
    return [...this.channels];
  }

  /** @internal One output report as it arrives over USB (report-id byte already handled by the OS side). Never throws. */
  fromHost(report: Uint8Array): void {
    if (!this.isPlugged) return;
    this.stats.reportsIn++;
    if (this.faults.fromHost && !this.faults.fromHost(report)) return;
    if (!this.isPlugged) return; // the hook pulled the key
    const events = this.reassembler.push(report, performance.now());
    this.armExpiry();
    for (const ev of events) this.handle(ev);
  }

  private armExpiry(): void {
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = undefined;
    const deadline = this.reassembler.nextDeadline();
    if (deadline === null) return;
    this.expiry = setTimeout(
      () => {
        this.expiry = undefined;
        for (const ev of this.reassembler.expire(performance.now())) this.handle(ev);
        this.armExpiry();
      },
      Math.max(0, deadline - performance.now()) + 1,
    );
  }

  private count(code: string): void {
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
  }

  private handle(ev: HidEvent): void {
    if (ev.kind === 'error') {
      this.count(ev.code);
      if (ev.hidError !== null && ev.cid !== null) this.send(errorPacket(ev.cid, ev.hidError));
      return;
    }
    this.stats.messages++;
    if (this.faults.mute) return;
    const { cid, cmd, payload } = ev;
    if (cmd === HidCommand.INIT) {
      this.init(cid, payload);
      return;
    }
    if (!this.channels.has(cid)) {
      this.linkError(cid, 'LINK_UNKNOWN_CHANNEL', HidErrorByte.INVALID_CHANNEL);
      return;
    }
    if (cmd === HidCommand.CANCEL) {
      this.cancel(cid);
      return;
    }
    if (this.busy) {
      this.linkError(cid, 'LINK_BUSY', HidErrorByte.CHANNEL_BUSY);
      return;
    }
    switch (cmd) {
      case HidCommand.PING:
        this.respond(cid, HidCommand.PING, payload);
        return;
      case HidCommand.WINK:
        if (payload.length !== 0) {
          this.linkError(cid, 'LINK_BAD_LENGTH', HidErrorByte.INVALID_LEN);
          return;
        }
        this.stats.winks++;
        this.respond(cid, HidCommand.WINK, new Uint8Array(0));
        return;
      case HidCommand.MSG:
        this.startCard(cid, payload);
        return;
      default:
        // CBOR (0x10) is optional for keys (§11.9) and this one does not implement it: capability bit 04 is clear.
        this.linkError(cid, 'LINK_UNKNOWN_COMMAND', HidErrorByte.INVALID_CMD);
    }
  }

  private linkError(cid: number, code: string, hidError: number): void {
    this.count(code);
    this.send(errorPacket(cid, hidError));
  }

  private init(cid: number, payload: Uint8Array): void {
    if (payload.length !== 8) {
      this.linkError(cid, 'LINK_BAD_LENGTH', HidErrorByte.INVALID_LEN);
      return;
    }
    let assigned: number;
    if (cid === HID_BROADCAST_CID) {
      assigned = this.allocate();
    } else if (this.channels.has(cid)) {
      // INIT on an own channel resynchronises it: whatever it had in progress is abandoned.
      if (this.busy?.cid === cid) this.finish(this.busy);
      assigned = cid;
    } else {
      this.linkError(cid, 'LINK_UNKNOWN_CHANNEL', HidErrorByte.INVALID_CHANNEL);
      return;
    }
    this.respond(
      cid,
      HidCommand.INIT,
      encodeInitResponse({
        nonce: payload,
        cid: assigned,
        protocolVersion: HID_PROTOCOL_VERSION,
        ...DEVICE_VERSION,
        capabilities: HidCapability.WINK,
      }),
    );
  }

  private allocate(): number {
    let cid = this.nextCid;
    while (cid === 0 || cid === HID_BROADCAST_CID || this.channels.has(cid)) cid = (cid + 1) >>> 0;
    this.nextCid = (cid + 1) >>> 0;
    this.channels.add(cid);
    if (this.channels.size > this.maxChannels) this.channels.delete(this.channels.values().next().value!);
    return cid;
  }

  /** CANCEL: a command the card has not begun is dropped and never answered; one already run has answered. */
  private cancel(cid: number): void {
    if (this.busy?.cid === cid) {
      this.count('LINK_CANCELLED');
      this.finish(this.busy);
    }
  }

  private startCard(cid: number, apdu: Uint8Array): void {
    const job: CardJob = { cid, timer: undefined, keepalive: undefined };
    this.busy = job;
    if (this.faults.sendKeepalive && this.keepaliveMs > 0) {
      job.keepalive = setInterval(() => {
        if (this.busy !== job || !this.faults.sendKeepalive) return;
        this.stats.keepalives++;
        this.send(keepalivePacket(cid, KeepaliveStatus.PROCESSING));
      }, this.keepaliveMs);
    }
    job.timer = setTimeout(() => this.runCard(job, apdu), this.faults.cardLatencyMs);
  }

  private runCard(job: CardJob, apdu: Uint8Array): void {
    if (this.busy !== job) return;
    let response: Uint8Array;
    try {
      response = this.card.transmit(apdu);
      this.stats.cardCommands++;
    } catch {
      // The card lost power mid-command (tearing hook): the key dies with it, as a real one would.
      this.finish(job);
      this.unplug();
      return;
    }
    this.finish(job);
    this.respond(job.cid, HidCommand.MSG, response);
  }

  private finish(job: CardJob): void {
    if (job.timer) clearTimeout(job.timer);
    if (job.keepalive) clearInterval(job.keepalive);
    if (this.busy === job) this.busy = undefined;
  }

  private respond(cid: number, cmd: number, payload: Uint8Array): void {
    let reports: Uint8Array[];
    try {
      reports = packetize(cid, cmd, payload);
    } catch {
      this.linkError(cid, 'LINK_RESPONSE_TOO_LONG', HidErrorByte.OTHER);
      return;
    }
    for (const r of reports) this.send(r);
  }

  private send(report: Uint8Array): void {
    if (!this.isPlugged) return;
    this.stats.reportsOut++;
    if (this.faults.toHost && !this.faults.toHost(report)) return;
    for (const p of [...this.ports]) {
      if (!this.isPlugged) return; // a hook pulled the key half-way
      p.receive(report);
    }
  }
}
