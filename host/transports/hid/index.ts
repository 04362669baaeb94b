/**
 * The USB HID card-key transport (docs/protocol.md §11) over node-hid: HidKeySource finds keys and
 * notices them come and go, HidSource is that as the daemon's ReaderSource, HidCardReader is one key
 * as a CardReader, HidLink the CTAPHID-style link.
 */
export { HidSource } from './hid-source.js';
export { HidKeySource, isCardpostKey } from './hid-key-source.js';
export type { HidKeySourceOptions, HidKeySourceEvents } from './hid-key-source.js';
export { HidCardReader, keyIdentity } from './hid-card-reader.js';
export type { HidCardReaderOptions } from './hid-card-reader.js';
export { HidLink, HidTransportError, pulledError } from './hid-link.js';
export type { HidLinkOptions } from './hid-link.js';
export { loadNodeHid } from './node-hid-module.js';
export type { NodeHidModule, NodeHidDevice, HidDeviceInfo } from './node-hid-module.js';
