/** The serial POS terminal transport (docs/protocol.md §13) on node-serialport. */
export { SerialTerminal, SerialTerminalError } from './serial-terminal.js';
export type { SerialTerminalOptions, SerialTerminalEvents, SaleRequest, SaleAnswer, TerminalInfo } from './serial-terminal.js';
export { TerminalCardReader } from './terminal-card-reader.js';
export { PortDriver } from './port-driver.js';
export type { PortDriverOptions, PortDriverEvents } from './port-driver.js';
