import { strict as assert } from 'node:assert';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { VpcdLink } from '../../device-sim/reader/vpcd-link.js';
import { PcscdEnv, cardIn, cardOut, missingPcscParts } from '../support/pcscd.js';
import { requireSystem } from '../support/system.js';

/**
 * What real pcscd + vsmartcard's vpcd answer the PC/SC part 10 feature request: no
 * FEATURE_VERIFY_PIN_DIRECT (vpcd refuses SCardControl with SCARD_E_UNSUPPORTED_FEATURE), so the
 * reader gets no pinPad and PIN pad sales are tested on a reader simulated at pcsclite's boundary
 * (test/daemon/pcsc-pin-pad-sale.test.ts).
 */
describe('PC/SC part 10 feature request through real pcscd + vpcd', function () {
  this.timeout(30_000);
  before(function () {
    requireSystem(this, missingPcscParts(), 'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev');
  });

  it('the vpcd reader lists no FEATURE_VERIFY_PIN_DIRECT: no pinPad, the card still works', async () => {
    const env = await PcscdEnv.get();
    const applet = new CardApplet(new Nvm(new MemoryBacking()));
    const link = new VpcdLink(applet, { host: '127.0.0.1', port: env.port(0), reconnectMs: 200 });
    const reader = await (await env.readers()).waitForReader((n) => n === env.readerName(0), 10_000);
    try {
      // The suite before may have just taken its card out of this slot: pcscd 1.9.9 + vpcd need the slot
      // to settle before the next card (architecture.md §7), or the first command fails NOT_TRANSACTED.
      await cardOut(reader);
      await new Promise((r) => setTimeout(r, 1500));
      link.insert();
      await cardIn(reader);
      const f = reader.pinPadFeature;
      assert.equal(f?.kind, 'none', JSON.stringify(f));
      assert.match(f!.kind === 'none' ? f!.why : '', /refused the feature request/);
      assert.equal(reader.pinPad, undefined);
      const select = await reader.transmit(Uint8Array.from(Buffer.from('00A404000AF043415244504F53540100', 'hex')));
      assert.equal(Buffer.from(select.subarray(-2)).toString('hex'), '9000');
    } finally {
      await link.remove();
      await cardOut(reader).catch(() => undefined);
    }
  });
});
