import { VpcdLink } from '../../device-sim/reader/vpcd-link.js';
import { PcscdEnv, cardIn, cardOut, missingPcscParts } from '../support/pcscd.js';
import { requireSystem } from '../support/system.js';
import { openForSuite, type CardImpl } from './card-impls.js';
import { cardConformanceSuite } from './card-suite.js';

describe('card behind real pcscd (vpcd + libpcsclite + nfc-pcsc)', function () {
  before(function () {
    requireSystem(this, missingPcscParts(), 'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev');
  });

  // Every implementation of the card behind the same vpcd link: the TypeScript applet, the C applet
  // (Node binding) and the ARM image under QEMU.
  const labels: Record<CardImpl, string> = {
    ts: 'simulated card',
    native: 'native C card',
    qemu: 'ARM card image under QEMU',
  };
  for (const impl of ['ts', 'native', 'qemu'] as const)
    cardConformanceSuite(`${labels[impl]} through pcscd`, async () => {
      if (missingPcscParts().length > 0) return undefined;
      const cut = await openForSuite(impl);
      if (!cut) return undefined;
      const env = await PcscdEnv.get();
      const link = new VpcdLink(cut.card, { host: '127.0.0.1', port: env.port(0), reconnectMs: 200 });
      const source = await env.readers();
      const reader = await source.waitForReader((n) => n === env.readerName(0), 10_000);
      link.insert();
      await cardIn(reader);
      return {
        reader,
        reinsert: async () => {
          await link.remove();
          await cardOut(reader);
          link.insert();
          await cardIn(reader);
        },
        close: async () => {
          await link.remove();
          await cardOut(reader).catch(() => undefined);
          cut.close();
        },
      };
    });
});
