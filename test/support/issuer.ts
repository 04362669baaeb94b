import { randomBytes } from 'node:crypto';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES, type SignatureAlgorithm } from '../../protocol/crypto/index.js';
import { CardClient, personalizeCard, type Limits } from '../../protocol/commands/index.js';
import {
  CERT_KIND,
  issueCertificate,
  selfSignedIssuer,
  signTopupToken,
  type Certificate,
  type SigningKey,
} from '../../protocol/record/index.js';

import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
export const NOW = () => Math.floor(Date.now() / 1000);

export const TEST_LIMITS: Limits = {
  perTransaction: 200_000,
  noPin: 5_000,
  offlineAmount: 400_000,
  offlineCount: 100,
  maxBalance: 1_000_000,
};

/** An issuer CA and a top-up authority, as a bank would hold them (test-only, in memory). */
export class TestIssuer {
  readonly key: SigningKey;
  readonly certificate: Certificate;
  readonly authorityKey: SigningKey;
  readonly authority: Certificate;
  private serial = 10;

  constructor(readonly algorithm: SignatureAlgorithm = 'sm2-sm3') {
    this.key = { algorithm, ...generateKeyPair(algorithm) };
    const now = NOW();
    this.certificate = selfSignedIssuer(this.key, {
      serial: Uint8Array.of(1),
      name: 'cardpost test issuer',
      notBefore: now - 86400 * 365 * 10,
      notAfter: now + 86400 * 365 * 10,
    });
    this.authorityKey = { algorithm, ...generateKeyPair(algorithm) };
    this.authority = issueCertificate(this.key, {
      serial: Uint8Array.of(2),
      kind: CERT_KIND.AUTHORITY,
      subjectId: ascii('test-bank'),
      algorithm: this.certificate.algorithm,
      publicKey: this.authorityKey.publicKey,
      notBefore: now - 3600,
      notAfter: now + 86400 * 365,
    });
  }

  /** Personalise a blank card through `client`, then set the holder PIN (leaves it active, PIN verified). */
  async issue(
    client: CardClient,
    opts: {
      cardId: Uint8Array;
      pin?: string;
      puk?: string;
      currency?: number;
      limits?: Limits;
      cardAlgorithm?: SignatureAlgorithm;
    },
  ): Promise<Certificate> {
    const now = NOW();
    const cert = await personalizeCard(
      client,
      { key: this.key, certificate: this.certificate },
      {
        cardId: opts.cardId,
        algorithm: opts.cardAlgorithm ?? this.algorithm,
        currency: opts.currency ?? 156,
        limits: opts.limits ?? TEST_LIMITS,
        pin: ascii('0000'),
        puk: ascii(opts.puk ?? '12345678'),
        notBefore: now - 60,
        notAfter: now + 86400 * 365 * 5,
        serial: Uint8Array.of(this.serial >> 8, this.serial++ & 0xff),
      },
    );
    await client.changePin(ascii('0000'), ascii(opts.pin ?? '1234'));
    return cert;
  }

  /** A terminal key and its kind 3 certificate (subject = the terminal id, UTF-8), valid for a year around now. */
  terminal(
    id: string,
    opts: { algorithm?: SignatureAlgorithm; notBefore?: number; notAfter?: number } = {},
  ): { key: SigningKey; certificate: Certificate } {
    const algorithm = opts.algorithm ?? this.algorithm;
    const key: SigningKey = { algorithm, ...generateKeyPair(algorithm) };
    const now = NOW();
    const certificate = issueCertificate(this.key, {
      serial: Uint8Array.of(this.serial >> 8, this.serial++ & 0xff),
      kind: CERT_KIND.TERMINAL,
      subjectId: ascii(id),
      algorithm: SIGNATURE_ALGORITHM_CODES[algorithm],
      publicKey: key.publicKey,
      notBefore: opts.notBefore ?? now - 3600,
      notAfter: opts.notAfter ?? now + 86400 * 365,
    });
    return { key, certificate };
  }

  /** A top-up token; by default as if the bank had settled every record of the card (settledCounter at its maximum). */
  topup(
    cardId: Uint8Array,
    loadSeq: number,
    amount: number,
    opts: {
      currency?: number;
      validUntilCounter?: number;
      resetOffline?: boolean;
      settledCounter?: number;
      /** A refund token: the counter of the sale it refunds (docs/protocol.md §7.5 key 10). */
      refundOf?: number;
      key?: SigningKey;
    } = {},
  ) {
    return signTopupToken(opts.key ?? this.authorityKey, {
      cardId,
      loadSeq,
      amount,
      currency: opts.currency ?? 156,
      validUntilCounter: opts.validUntilCounter ?? 0xffff_ffff,
      issuedAt: NOW(),
      resetOffline: opts.resetOffline ?? true,
      settledCounter: opts.settledCounter ?? 0xffff_ffff,
      ...(opts.refundOf !== undefined ? { refundOf: opts.refundOf } : {}),
    });
  }
}

/**
 * A personalised, topped-up simulated card holding `pin` (PIN above 50.00; limits roomy enough for
 * hundreds of sales), powered off, for tests that put it in a terminal's slot or a reader.
 */
export async function issuedCard(issuer: TestIssuer, pin: string, balance = 5_000_000): Promise<CardApplet> {
  const applet = new CardApplet(new Nvm(new MemoryBacking()));
  const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  const cardId = Uint8Array.from(randomBytes(8));
  applet.powerOn();
  await issuer.issue(client, {
    cardId,
    pin,
    limits: {
      perTransaction: 200_000,
      noPin: 5_000,
      offlineAmount: 10_000_000,
      offlineCount: 1000,
      maxBalance: 10_000_000,
    },
  });
  await client.load({ token: issuer.topup(cardId, 1, balance).envelope, authority: issuer.authority.envelope });
  applet.powerOff();
  return applet;
}
