import { EventEmitter } from 'node:events';
import { CARDPOST_HID_USAGE, CARDPOST_HID_USAGE_PAGE } from '../../../protocol/framing/hid-key.js';
import { TransportError } from '../../../protocol/transport.js';
import { HidCardReader, keyIdentity, type HidCardReaderOptions } from './hid-card-reader.js';
import { loadNodeHid, type HidDeviceInfo, type NodeHidModule } from './node-hid-module.js';

export interface HidKeySourceOptions {
  /** The node-hid module (default: the real one, loaded on open). Tests pass device-sim/hid's SimNodeHid. */
  hid?: NodeHidModule;
  /** Which HID devices are card keys (default: the usage page/usage of docs/protocol.md §11.12). */
  match?: (device: HidDeviceInfo) => boolean;
  /** How often to list devices for attach/detach, ms (default 1000; 0 = only when poll() is called). */
  pollIntervalMs?: number;
  reader?: HidCardReaderOptions;
}

export interface HidKeySourceEvents {
  /** A key was plugged in (or came back): its reader, with the card present. */
  reader: [HidCardReader];
  error: [TransportError];
}

export const isCardpostKey = (d: HidDeviceInfo): boolean =>
  d.usagePage === CARDPOST_HID_USAGE_PAGE && d.usage === CARDPOST_HID_USAGE;

/**
 * All card keys on this machine, as they come and go. node-hid has no hotplug events, so this lists
 * devices every `pollIntervalMs`; an unplug is usually noticed sooner, by the open device's read
 * error (HidCardReader handles that itself). A key that returns — same serial number, new path — is
 * attached to its existing reader object.
 */
export class HidKeySource extends EventEmitter<HidKeySourceEvents> {
  private readonly readers = new Map<string, HidCardReader>();
  private readonly match: (d: HidDeviceInfo) => boolean;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly hid: NodeHidModule,
    private readonly opts: HidKeySourceOptions,
  ) {
    super();
    this.match = opts.match ?? isCardpostKey;
  }

  /** Load node-hid (TRANSPORT_UNAVAILABLE with an install hint if it cannot), attach the keys present, start polling. */
  static async open(opts: HidKeySourceOptions = {}): Promise<HidKeySource> {
    const source = new HidKeySource(opts.hid ?? (await loadNodeHid()), opts);
    await source.poll();
    const every = opts.pollIntervalMs ?? 1000;
    if (every > 0) {
      source.timer = setInterval(() => {
        void source.poll();
      }, every);
      source.timer.unref(); // polling alone must not keep the process alive
    }
    return source;
  }

  /** Readers whose key is plugged in now. */
  list(): HidCardReader[] {
    return [...this.readers.values()].filter((r) => r.cardPresent);
  }

  /** List devices once: detach keys that vanished (or changed path), attach new and returning ones. */
  poll(): Promise<void> {
    this.polling ??= this.scan().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async scan(): Promise<void> {
    if (this.closed) return;
    let devices: HidDeviceInfo[];
    try {
      devices = await this.hid.devicesAsync();
    } catch (e) {
      this.report(
        new TransportError(
          'TRANSPORT_UNAVAILABLE',
          `cannot list HID devices: ${e instanceof Error ? e.message : String(e)}`,
          'check that node-hid works on this machine (npm rebuild node-hid)',
          { cause: e },
        ),
      );
      return;
    }
    const present = new Map<string, HidDeviceInfo>();
    for (const d of devices) if (d.path && this.match(d)) present.set(keyIdentity(d), d);
    for (const [id, reader] of this.readers) {
      if (reader.cardPresent && present.get(id)?.path !== reader.info.path) reader.detach();
    }
    for (const [id, info] of present) {
      let reader = this.readers.get(id);
      if (reader?.cardPresent) continue;
      let device;
      try {
        device = await this.hid.HIDAsync.open(info.path!);
      } catch (e) {
        this.report(
          new TransportError(
            'READER_GONE',
            `cannot open the card key ${info.product ?? ''} at ${info.path}: ${e instanceof Error ? e.message : String(e)}`,
            'on Linux, give your user access to /dev/hidraw* (a udev rule for the key), or close the program holding it',
            { cause: e },
          ),
        );
        continue;
      }
      if (this.closed) {
        device.close().catch(() => {});
        return;
      }
      if (!reader) {
        reader = new HidCardReader(info, this.opts.reader);
        this.readers.set(id, reader);
      }
      reader.attach(device, info);
      this.emit('reader', reader);
    }
  }

  private report(e: TransportError): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  /** Resolve with the first plugged-in key whose reader matches, waiting up to `timeoutMs`. */
  waitForReader(match: (r: HidCardReader) => boolean, timeoutMs: number): Promise<HidCardReader> {
    const found = this.list().find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('reader', on);
        reject(
          new TransportError('TIMEOUT', `no matching HID card key appeared in ${timeoutMs} ms`, 'plug the card key in'),
        );
      }, timeoutMs);
      const on = (r: HidCardReader): void => {
        if (match(r)) {
          clearTimeout(timer);
          this.off('reader', on);
          resolve(r);
        }
      };
      this.on('reader', on);
    });
  }

  /** Stop polling and let go of every key. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const r of this.readers.values()) r.close();
  }
}
