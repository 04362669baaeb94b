import type { Device } from 'node-hid';
import { TransportError } from '../../../protocol/transport.js';

/**
 * The part of node-hid 3 the HID transport uses: `devicesAsync()` and `HIDAsync.open(path)` with
 * its device object. Typed here, structurally, so tests can pass a stand-in (device-sim/hid's
 * SimNodeHid) where production passes the real module; nothing else differs.
 */
export type HidDeviceInfo = Device;

export interface NodeHidDevice {
  /** First byte is the report id: 00 for the card key, then the 64-byte report (docs/protocol.md §11.1). */
  write(values: number[] | Buffer): Promise<number>;
  close(): Promise<void>;
  on(event: 'data', listener: (data: Buffer) => void): this;
  on(event: 'error', listener: (err: unknown) => void): this;
  removeAllListeners(event?: 'data' | 'error'): this;
}

export interface NodeHidModule {
  devicesAsync(): Promise<HidDeviceInfo[]>;
  HIDAsync: { open(path: string): Promise<NodeHidDevice> };
}

const INSTALL_HINT =
  'install node-hid 3 with its native part (npm install node-hid; on Linux from source it needs libudev-dev and libusb-1.0-0-dev, then npm rebuild node-hid)';

/**
 * Load the real node-hid, or say exactly what is missing (TRANSPORT_UNAVAILABLE). node-hid loads its
 * native binding on first use, not on import, so this also lists devices once to surface a broken
 * binding here rather than at the first poll. `importer` exists for tests.
 */
export async function loadNodeHid(importer: () => Promise<unknown> = () => import('node-hid')): Promise<NodeHidModule> {
  try {
    const mod = (await importer()) as Partial<NodeHidModule> & { default?: Partial<NodeHidModule> };
    const m = typeof mod.devicesAsync === 'function' ? mod : mod.default;
    if (!m || typeof m.devicesAsync !== 'function' || typeof m.HIDAsync?.open !== 'function') {
      throw new Error('the node-hid module has no devicesAsync()/HIDAsync.open(): node-hid 3 or later is needed');
    }
    await m.devicesAsync();
    return m as NodeHidModule;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new TransportError('TRANSPORT_UNAVAILABLE', `USB HID card keys are unavailable: ${why}`, INSTALL_HINT, {
      cause: e,
    });
  }
}
