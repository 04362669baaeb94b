import type { Device } from 'node-hid';
import { SimHidAsyncDevice, SimHidDevice } from './sim-hid-device.js';
import type { SimHidKey } from './sim-hid-key.js';

/**
 * A stand-in for the `node-hid` module whose only devices are simulated keys: `devices()`,
 * `devicesAsync()`, `HID` and `HIDAsync.open()` with node-hid 3's signatures. Pass it where the host
 * transport takes its node-hid module (HidKeySource `{ hid }`); production code loads the real one.
 * Keys come and go with key.plug()/key.unplug(); node-hid has no hotplug events, so neither does this.
 */
export class SimNodeHid {
  private readonly keys = new Set<SimHidKey>();
  readonly HID: new (pathOrVid: string | number, productId?: number) => SimHidDevice;
  readonly HIDAsync: { open(pathOrVid: string | number, productId?: number): Promise<SimHidAsyncDevice> };

  constructor(keys: SimHidKey[] = []) {
    for (const k of keys) this.keys.add(k);
    const find = (pathOrVid: string | number, productId?: number): SimHidKey => this.find(pathOrVid, productId);
    this.HID = class extends SimHidDevice {
      constructor(pathOrVid: string | number, pid?: number) {
        super(find(pathOrVid, pid));
      }
    };
    this.HIDAsync = { open: async (pathOrVid, pid) => new SimHidAsyncDevice(find(pathOrVid, pid)) };
  }

  add(key: SimHidKey): SimHidKey {
    this.keys.add(key);
    return key;
  }
  remove(key: SimHidKey): void {
    key.unplug();
    this.keys.delete(key);
  }

  devices(vendorId?: number, productId?: number): Device[] {
    return [...this.keys]
      .filter((k) => k.plugged)
      .map((k) => k.info)
      .filter(
        (d) =>
          vendorId === undefined || (d.vendorId === vendorId && (productId === undefined || d.productId === productId)),
      );
  }

  async devicesAsync(vendorId?: number, productId?: number): Promise<Device[]> {
    return this.devices(vendorId, productId);
  }

  private find(pathOrVid: string | number, productId?: number): SimHidKey {
    for (const k of this.keys) {
      if (!k.plugged) continue;
      const d = k.info;
      if (typeof pathOrVid === 'string' ? d.path === pathOrVid : d.vendorId === pathOrVid && d.productId === productId)
        return k;
    }
    const what =
      typeof pathOrVid === 'string' ? `path ${pathOrVid}` : `vendorId ${pathOrVid}, productId ${String(productId)}`;
    throw new Error(`cannot open device with ${what}`);
  }
}
