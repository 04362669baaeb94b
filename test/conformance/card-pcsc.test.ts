import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { VpcdLink } from '../../device-sim/reader/vpcd-link.js';
import { PcscdEnv, cardIn, cardOut, missingPcscParts } from '../support/pcscd.js';
import { requireSystem } from '../support/system.js';
import { cardConformanceSuite } from './card-suite.js';

describe('card behind real pcscd (vpcd + libpcsclite + nfc-pcsc)', function () {
  before(function () {
    requireSystem(this, missingPcscParts(), 'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev');
  });

  cardConformanceSuite('simulated card through pcscd', async () => {
    if (missingPcscParts().length > 0) return undefined;
    const env = await PcscdEnv.get();
    const applet = new CardApplet(new Nvm(new MemoryBacking()));
    const link = new VpcdLink(applet, { host: '127.0.0.1', port: env.port(0), reconnectMs: 200 });
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
      },
    };
  });
});
