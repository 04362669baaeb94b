import { EventEmitter } from 'node:events';
import type { Device } from 'node-hid';
import type { SimHidKey, SimHidPort } from './sim-hid-key.js';

/**
 * The device objects node-hid 3 hands a host program — `HID.HID` (synchronous write) and
 * `HID.HIDAsync` (promises) — opened on a simulated key. They reproduce the behaviour the host has to
 * cope with on real keys (node-hid 3.x nodehid.js and src/HIDAsync.cc):
 * - write(number[] | Buffer): the first byte is the report id. The key has no numbered reports, so a
 *   host writes 00 + the 64-byte report; the OS sends the 64 bytes. A non-zero first byte is sent
 *   as part of the data (as Linux usbhid does for unnumbered reports), so the key sees 65 bytes.
 *   Array elements are truncated to bytes the way N-API's Uint32Value + unsigned char cast does.
 * - 'data' (Buffer, 64 bytes) only while someone listens; reports with no listener are lost.
 * - the key pulled: a handle that is reading emits 'error' ("could not read from HID device") once
 *   and stops; every later write throws "Cannot write to hid device". With no 'error' listener the
 *   EventEmitter throws, as with node-hid, so hosts must keep one.
 * - close(): no more events, listeners removed.
 */
abstract class SimHidHandle extends EventEmitter implements SimHidPort {
  protected closed = false;
  private dead = false;
  private paused = false;
  private readonly deviceInfo: Device;

  constructor(protected readonly key: SimHidKey) {
    super();
    this.deviceInfo = key.info;
    key.connect(this);
  }

  receive(report: Uint8Array): void {
    if (this.closed || this.dead) return;
    const copy = Buffer.from(report);
    // node-hid's read thread hands reports to JS asynchronously, in order.
    setImmediate(() => {
      if (!this.closed && !this.dead && !this.paused && this.listenerCount('data') > 0) this.emit('data', copy);
    });
  }

  unplugged(): void {
    if (this.dead) return;
    this.dead = true;
    setImmediate(() => {
      if (!this.closed && this.listenerCount('data') > 0)
        this.emit('error', new Error('could not read from HID device: device disconnected'));
    });
  }

  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }

  protected info(): Device {
    return { ...this.deviceInfo };
  }

  protected writeNow(values: unknown): number {
    const bytes = toBytes(values);
    if (this.closed) throw new Error('device has been closed');
    if (this.dead || !this.key.plugged) throw new Error('Cannot write to hid device: device disconnected');
    if (bytes.length === 0) throw new Error('Cannot write to hid device: nothing to write');
    const wire = bytes[0] === 0 ? bytes.subarray(1) : bytes;
    this.key.fromHost(wire);
    return bytes.length;
  }

  protected shut(): void {
    if (this.closed) return;
    this.closed = true;
    this.key.disconnect(this);
    this.removeAllListeners();
  }
}

function toBytes(values: unknown): Uint8Array {
  if (Buffer.isBuffer(values)) return Uint8Array.from(values);
  if (Array.isArray(values)) {
    const out = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v: unknown = values[i];
      if (typeof v !== 'number')
        throw new TypeError('unexpected array element in array to send, expecting only integers');
      out[i] = (Math.trunc(v) >>> 0) & 0xff;
    }
    return out;
  }
  throw new TypeError('unexpected data to send, expecting an array or buffer');
}

/** `new HID.HID(path)` on a simulated key. */
export class SimHidDevice extends SimHidHandle {
  write(values: number[] | Buffer): number {
    return this.writeNow(values);
  }
  close(): void {
    this.shut();
  }
  getDeviceInfo(): Device {
    return this.info();
  }
  setNonBlocking(_noBlock: boolean): void {}
}

/** `await HID.HIDAsync.open(path)` on a simulated key. */
export class SimHidAsyncDevice extends SimHidHandle {
  // node-hid's HIDAsync wraps every native call in an async function: a throw becomes a rejection.
  async write(values: number[] | Buffer): Promise<number> {
    return this.writeNow(values);
  }
  async close(): Promise<void> {
    this.shut();
  }
  async getDeviceInfo(): Promise<Device> {
    return this.info();
  }
  async setNonBlocking(_noBlock: boolean): Promise<void> {}
}
