/** The serial POS terminal transport (docs/protocol.md §13) on node-serialport. */
export { SerialTerminal } from './serial-terminal.js';
export {
  SerialTerminalError,
  TerminalRefusedError,
  PinPadUnsupportedError,
  isPinPadUnsupported,
} from './terminal-errors.js';
export type {
  SerialTerminalOptions,
  SerialTerminalEvents,
  SaleRequest,
  SaleAnswer,
  TerminalInfo,
} from './serial-terminal.js';
export { SerialTerminalSource } from './serial-source.js';
export type { SerialTerminalSourceOptions } from './serial-source.js';
export { TerminalCardReader } from './terminal-card-reader.js';
export type { TerminalSlotLink } from './terminal-card-reader.js';
export { PortDriver, REAL_SERIAL_BINDING, fileDeviceId } from './port-driver.js';
export type { PortDriverOptions, PortDriverEvents, SerialBinding } from './port-driver.js';
