/** The simulated serial POS terminal (docs/protocol.md §13) and its line-fault injection. */
export { SimTerminal } from './sim-terminal.js';
export type { SimTerminalOptions, SimTerminalEvents, SlotCard, PinAction } from './sim-terminal.js';
export { LineFaults } from './line-faults.js';
export type { LineFaultRates, LineFaultStats } from './line-faults.js';
