/**
 * The PC/SC transport (contact and NFC readers through pcscd and nfc-pcsc): PcscReaderSource lists
 * the readers of one PC/SC context, PcscCardReader is one reader as a CardReader, PcscSource keeps
 * them as the daemon's ReaderSource while pcscd comes and goes; PcscPinPad drives a reader's own PIN
 * pad (PC/SC part 10 FEATURE_VERIFY_PIN_DIRECT) when it lists one.
 */
export { PcscSource } from './pcsc-source.js';
export type { PcscSourceOptions } from './pcsc-source.js';
export {
  PcscCardReader,
  PcscReaderSource,
  loadNfcPcsc,
  mapPcscError,
  passingPcscError,
  DEFAULT_TRANSMIT_TIMEOUT_MS,
} from './pcsc-reader.js';
export { PcscPinPad, ReaderPinPadError, probeFeatures } from './pcsc-pin-pad.js';
export type { FeatureProbe, PinPadPort } from './pcsc-pin-pad.js';
export type { PcscReaderOptions, PcscReaderSourceEvents } from './pcsc-reader.js';
