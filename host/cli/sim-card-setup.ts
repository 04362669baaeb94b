import { toHex } from '../../protocol/bytes.js';
import { CardClient, LIFECYCLE, personalizeCard } from '../../protocol/commands/index.js';
import { signTopupToken } from '../../protocol/record/index.js';
// Simulator wiring, like sim-command.ts and demo-command.ts (DESIGN: host imports device-sim for
// tests and demo wiring only; test/unit/layering.test.ts lists these files).
import type { VirtualCard } from '../../device-sim/reader/vpcd-link.js';
import { nextSerial, openIssuerDir, randomCardId } from '../issuer/issuer-dir.js';
import { randomDigits } from './card-command.js';
import { parseAmount, parseCurrency } from './parse.js';

export interface SimCardSetup {
  issuerDir: string;
  pin: string;
  balance: number;
  currency: number;
}

/** The limits a simulated card gets unless told otherwise (minor units; `cardpost sim card`). */
export const SIM_CARD_LIMITS = {
  perTransaction: 200_000,
  noPin: 10_000,
  offlineAmount: 1_000_000,
  offlineCount: 500,
  maxBalance: 10_000_000,
} as const;

/** What the QA runner chooses for a card (each optional: the defaults are what `sim card` does). */
export interface SimCardChoices {
  /** 8 bytes; default random. */
  cardId?: Uint8Array;
  /** Any of the card certificate's limits; the rest as SIM_CARD_LIMITS. */
  limits?: Partial<Record<keyof typeof SIM_CARD_LIMITS, number>>;
  /** false: the card refuses extended-length APDUs, so personalisation chains (default true). */
  extendedLength?: boolean;
}

/** Personalise a blank simulated card through its own APDUs, set the holder PIN and top it up. */
export async function prepareSimCard(
  applet: VirtualCard,
  setup: SimCardSetup,
  choices: SimCardChoices = {},
): Promise<{ cardId: string; puk?: string }> {
  const client = new CardClient({
    extendedLength: choices.extendedLength ?? true,
    transmit: async (a) => applet.transmit(a),
  });
  applet.powerOn();
  await client.select();
  const info = await client.getInfo();
  if (info.lifecycle !== LIFECYCLE.BLANK) return { cardId: toHex(info.cardId!) };
  const issuer = openIssuerDir(setup.issuerDir);
  const now = Math.floor(Date.now() / 1000);
  const cardId = choices.cardId ?? randomCardId();
  const puk = randomDigits(8); // each card its own PUK, printed for QA
  const enc = new TextEncoder();
  await personalizeCard(client, issuer.ca, {
    cardId,
    algorithm: issuer.ca.key.algorithm,
    currency: setup.currency,
    serial: nextSerial(issuer.dir),
    limits: { ...SIM_CARD_LIMITS, ...choices.limits },
    pin: enc.encode('0000'),
    puk: enc.encode(puk),
    notBefore: now - 3600,
    notAfter: now + 5 * 365 * 86400,
  });
  await client.changePin(enc.encode('0000'), enc.encode(setup.pin));
  if (setup.balance > 0) {
    const token = signTopupToken(issuer.authority.key, {
      cardId,
      loadSeq: 1,
      amount: setup.balance,
      currency: setup.currency,
      validUntilCounter: 0xffff_ffff,
      issuedAt: now,
      resetOffline: true,
    });
    await client.load({ token: token.envelope, authority: issuer.authority.certificate.envelope });
  }
  applet.powerOff();
  return { cardId: toHex(cardId), puk };
}

/**
 * `sim card` and `sim hid` with --issuer: personalise the simulated card from the command's options and
 * print its QA data once (the PUK is random per card). Returns the label the command shows for the card.
 */
export async function personaliseFromOptions(
  applet: VirtualCard,
  opts: { issuer: string; pin: string; balance: string; currency: string },
  say: (line: string) => void,
  who: string,
): Promise<string> {
  const made = await prepareSimCard(applet, {
    issuerDir: opts.issuer,
    pin: opts.pin,
    balance: parseAmount(opts.balance),
    currency: parseCurrency(opts.currency),
  });
  if (made.puk)
    say(`${who}: personalised ${made.cardId}, PIN ${opts.pin}, PUK ${made.puk} (simulated card: printed for QA)`);
  return `card ${made.cardId}`;
}
