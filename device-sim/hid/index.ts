/**
 * The simulated USB HID card key (docs/protocol.md §11): the key's link (SimHidKey) and the
 * node-hid surface a host program sees (SimNodeHid, SimHidDevice, SimHidAsyncDevice).
 */
export { SimHidKey } from './sim-hid-key.js';
export type { SimHidKeyOptions, SimHidKeyFaults, SimHidKeyStats, SimHidPort } from './sim-hid-key.js';
export { SimHidDevice, SimHidAsyncDevice } from './sim-hid-device.js';
export { SimNodeHid } from './sim-node-hid.js';
export { SimHidEndpoint, assertLoopbackHost } from './hid-endpoint.js';
export type { SimHidEndpointOptions } from './hid-endpoint.js';
