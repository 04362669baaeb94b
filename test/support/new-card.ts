import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { openIssuerDir, nextSerial, randomCardId } from '../../host/issuer/issuer-dir.js';
import { CardClient, personalizeCard } from '../../protocol/commands/index.js';
import { ascii, TEST_LIMITS } from './issuer.js';

/**
 * A card fresh from the issuer of a test daemon's issuer directory: personalised with a transport PIN
 * and a PUK, not yet activated, no money on it (what the PIN service's activation starts from).
 */
export async function newIssuedCard(issuerDir: string, transportPin: string, puk: string): Promise<CardApplet> {
  const applet = new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: true });
  applet.powerOn();
  const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  await client.select();
  const issuer = openIssuerDir(issuerDir);
  const now = Math.floor(Date.now() / 1000);
  await personalizeCard(client, issuer.ca, {
    cardId: randomCardId(),
    algorithm: issuer.ca.key.algorithm,
    currency: 156,
    serial: nextSerial(issuer.dir),
    limits: TEST_LIMITS,
    pin: ascii(transportPin),
    puk: ascii(puk),
    notBefore: now - 3600,
    notAfter: now + 365 * 86400,
  });
  applet.powerOff();
  return applet;
}
