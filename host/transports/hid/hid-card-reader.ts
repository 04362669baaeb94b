import { EventEmitter } from 'node:events';
import { HidCommand } from '../../../protocol/framing/hid-packet.js';
import { TransportError, type CardReader, type CardReaderEvents } from '../../../protocol/transport.js';
import { HidLink, pulledError, type HidLinkOptions } from './hid-link.js';
import type { HidDeviceInfo, NodeHidDevice } from './node-hid-module.js';

export interface HidCardReaderOptions extends Omit<HidLinkOptions, 'name' | 'onDead'> {
  /** Whether APDUs may be extended-length (default true: MSG carries up to 7609 bytes, §11.9). */
  extendedLength?: boolean;
}

/** How a key is recognised when it comes back: its USB serial number, else its path. */
export function keyIdentity(info: HidDeviceInfo): string {
  return info.serialNumber ? `serial:${info.serialNumber}` : `path:${info.path ?? ''}`;
}

/**
 * A USB HID card key as the host's CardReader. The card cannot leave the key, so "card present"
 * means "key plugged in and opened": 'card' (empty ATR) when a device is attached, 'removed' then
 * 'end' when it goes away. Every APDU travels in one HID MSG message (docs/protocol.md §11.9).
 *
 * The reader object stays tied to the key (by serial number) across unplug and replug: HidKeySource
 * attaches the new device and emits 'reader' again, so a holder of the old object (a CardClient)
 * keeps working, and one that dropped it on 'end' gets it back.
 */
export class HidCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  readonly extendedLength: boolean;
  private deviceInfo: HidDeviceInfo;
  private link: HidLink | undefined;
  private device: NodeHidDevice | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    info: HidDeviceInfo,
    private readonly opts: HidCardReaderOptions = {},
  ) {
    super();
    this.deviceInfo = info;
    this.extendedLength = opts.extendedLength ?? true;
  }

  get name(): string {
    const d = this.deviceInfo;
    return `${d.product ?? 'HID card key'}${d.serialNumber ? ` ${d.serialNumber}` : ''}`;
  }
  get info(): HidDeviceInfo {
    return this.deviceInfo;
  }
  get identity(): string {
    return keyIdentity(this.deviceInfo);
  }
  get cardPresent(): boolean {
    return this.link !== undefined;
  }
  /** The CTAPHID channel in use, if allocated (for diagnostics and tests). */
  get channel(): number | undefined {
    return this.link?.channel;
  }

  /** Take over an opened node-hid device for this key (HidKeySource does this on attach). */
  attach(device: NodeHidDevice, info: HidDeviceInfo = this.deviceInfo): void {
    if (this.link) this.detach();
    this.deviceInfo = info;
    const link = new HidLink(device, { ...this.opts, name: this.name, onDead: () => this.detach(link) });
    this.link = link;
    this.device = device;
    device.on('data', (data) => link.receive(data));
    // node-hid reports an unplugged key as a read error (and only while reading): that is the unplug.
    device.on('error', (e) => link.fail(pulledError(this.name, e)));
    this.emit('card', { atr: new Uint8Array(0) });
  }

  /**
   * The key is gone (read error, failed write, or no longer listed): the command in flight fails with
   * CARD_REMOVED at once, then 'removed' and 'end'. `only` limits this to one attachment's link.
   */
  detach(only?: HidLink): void {
    const link = this.link;
    if (!link || (only && only !== link)) return;
    this.link = undefined;
    link.fail(pulledError(this.name));
    this.release();
    this.emit('removed');
    this.emit('end');
  }

  /** Let go of the key (daemon shutdown): in-flight work fails with READER_GONE; no events. */
  close(): void {
    const link = this.link;
    this.link = undefined;
    link?.fail(new TransportError('READER_GONE', `${this.name} was closed`, 'open the card key again'));
    this.release();
  }

  private release(): void {
    const device = this.device;
    this.device = undefined;
    if (!device) return;
    device.removeAllListeners('data');
    device.removeAllListeners('error');
    device.on('error', () => {}); // a late read error from a dead handle must not become an uncaught 'error'
    device.close().catch(() => {});
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const link = this.link;
    if (!link) throw new TransportError('READER_GONE', `${this.name} is not plugged in`, 'plug the card key in');
    // One request at a time per channel (CTAPHID); callers that overlap are queued, not refused.
    const run = this.queue.then(() => link.call(HidCommand.MSG, apdu));
    this.queue = run.catch(() => {});
    return run;
  }
}
