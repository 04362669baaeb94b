import { PcscCardReader, type PcscReaderOptions } from '../../host/transports/pcsc/pcsc-reader.js';
import type { NfcPcscReader } from '../../host/transports/pcsc/nfc-pcsc-types.js';
import { SimPcscliteReader, type SimPcscliteReaderOptions } from '../../device-sim/reader/pcsclite-pinpad-reader.js';

type ReaderConstructor = new (reader: unknown, logger?: unknown) => NfcPcscReader;

/**
 * A PC/SC reader with a CCID PIN pad as the host meets it: nfc-pcsc's own Reader class around a
 * simulated @pokusew/pcsclite reader object (device-sim/reader/pcsclite-pinpad-reader.ts), wrapped by
 * the host's PcscCardReader. Everything above pcsclite's native calls is the production code.
 */
export async function pinPadReader(
  o: SimPcscliteReaderOptions = {},
  readerOpts: PcscReaderOptions = {},
): Promise<{ raw: SimPcscliteReader; reader: PcscCardReader }> {
  const mod = (await import('nfc-pcsc')) as unknown as {
    Reader?: ReaderConstructor;
    default?: { Reader?: ReaderConstructor };
  };
  const Reader = mod.Reader ?? mod.default?.Reader;
  if (!Reader) throw new Error('nfc-pcsc has no Reader export');
  const raw = new SimPcscliteReader(o);
  const reader = new PcscCardReader(new Reader(raw), { extendedLength: true, ...readerOpts });
  return { raw, reader };
}

/** Resolve when the reader announces a card (after its feature request). */
export function announced(reader: PcscCardReader, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${reader.name} announced no card in ${timeoutMs} ms`)), timeoutMs);
    reader.once('card', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
