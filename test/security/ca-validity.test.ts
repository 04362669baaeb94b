import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { CardpostError } from '../../protocol/errors.js';
import { CardClient, CardStatusError, personalizeCard } from '../../protocol/commands/index.js';
import {
  CERT_KIND,
  TrustStore,
  issueCertificate,
  selfSignedIssuer,
  capToIssuer,
  type Certificate,
  type SigningKey,
} from '../../protocol/record/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { readIdentity, writeIdentity } from '../../device-sim/card/card-state.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { SimBank } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { CardSession, CardSessionError } from '../../host/session/card-session.js';
import { initIssuerDir, issueTerminal } from '../../host/issuer/issuer-dir.js';
import { TEST_LIMITS, ascii } from '../support/issuer.js';

/**
 * Security issue #12, hole 8: an expired issuer CA is not trusted, and a certificate may not
 * outlive (or predate) the CA that signed it — refused by the trust store (host and bank), by the
 * card at personalisation, and never issued by the issuer tools (docs/protocol.md §7.3).
 */

const DAY = 86400;
const T0 = 1_800_000_000;
const CA_FROM = T0 - 10 * DAY;
const CA_UNTIL = T0 + 100 * DAY;

const keyOf = (): SigningKey => ({ algorithm: 'sm2-sm3', ...generateKeyPair('sm2-sm3') });
let serial = 1;

function makeCa() {
  const key = keyOf();
  const certificate = selfSignedIssuer(key, {
    serial: Uint8Array.of(1),
    name: 'short-lived CA',
    notBefore: CA_FROM,
    notAfter: CA_UNTIL,
  });
  return { key, certificate };
}

function cert(
  ca: { key: SigningKey },
  kind: 2 | 3 | 4,
  notBefore: number,
  notAfter: number,
  publicKey = keyOf().publicKey,
  subject?: Uint8Array,
): Certificate {
  return issueCertificate(ca.key, {
    serial: Uint8Array.of(serial >> 8, serial++ & 0xff),
    kind,
    subjectId: subject ?? (kind === CERT_KIND.CARD ? Uint8Array.from(randomBytes(8)) : ascii('T-01')),
    algorithm: SIGNATURE_ALGORITHM_CODES['sm2-sm3'],
    publicKey,
    notBefore,
    notAfter,
    ...(kind === CERT_KIND.CARD ? { limits: TEST_LIMITS, currency: 156 } : {}),
  });
}

const problem = (r: { ok: true } | { ok: false; problem: string }): string => (r.ok ? 'ok' : r.problem);

describe('security #12 hole 8: issuer CA validity, and certificates that outlive their CA', function () {
  this.timeout(30_000);
  const ca = makeCa();
  const trust = new TrustStore();
  trust.addIssuer(ca.certificate);

  it('the trust store refuses every certificate once the issuer CA has expired (or before it is valid)', () => {
    // Issued by older tooling: valid well past its CA.
    const card = cert(ca, CERT_KIND.CARD, T0, CA_UNTIL + 1000 * DAY);
    assert.equal(problem(trust.check(card, { now: CA_UNTIL + DAY, kind: CERT_KIND.CARD })), 'issuer-expired');
    const nested = cert(ca, CERT_KIND.CARD, CA_FROM, CA_UNTIL);
    assert.equal(problem(trust.check(nested, { now: T0, kind: CERT_KIND.CARD })), 'ok');
    assert.equal(problem(trust.check(nested, { now: CA_UNTIL + 1, kind: CERT_KIND.CARD })), 'issuer-expired');
    assert.equal(problem(trust.check(nested, { now: CA_FROM - 1, kind: CERT_KIND.CARD })), 'issuer-not-yet-valid');
    assert.equal(problem(trust.check(nested, { now: CA_UNTIL, kind: CERT_KIND.CARD })), 'ok', 'notAfter is inclusive');
  });

  it("a certificate whose window is not inside its issuer's is refused with its own problem, whenever it is checked", () => {
    const late = cert(ca, CERT_KIND.CARD, T0, CA_UNTIL + 1);
    const early = cert(ca, CERT_KIND.TERMINAL, CA_FROM - 1, T0 + DAY);
    for (const now of [T0, T0 + DAY]) {
      assert.equal(problem(trust.check(late, { now, kind: CERT_KIND.CARD })), 'outlives-issuer');
      assert.equal(problem(trust.check(early, { now, kind: CERT_KIND.TERMINAL })), 'outlives-issuer');
    }
  });

  it('the host refuses a card whose certificate outlives its CA: CARD_OUTLIVES_ISSUER; and CARD_ISSUER_EXPIRED after the CA', async () => {
    const caNow = makeCaAround(Math.floor(Date.now() / 1000));
    const applet = new CardApplet(new Nvm(new MemoryBacking()));
    const reader = new InProcessReader();
    reader.insert(applet);
    const client = new CardClient(reader);
    const now = Math.floor(Date.now() / 1000);
    await personalizeCard(client, caNow, {
      cardId: Uint8Array.from(randomBytes(8)),
      algorithm: 'sm2-sm3',
      currency: 156,
      limits: TEST_LIMITS,
      pin: ascii('0000'),
      puk: ascii('12345678'),
      notBefore: now - 60,
      notAfter: now + 5 * DAY,
      serial: Uint8Array.of(5),
    });
    // A card personalised by older tooling: same key and id, but a certificate valid past its CA.
    const id = readIdentity(applet.nvm)!;
    const outliving = cert(
      caNow,
      CERT_KIND.CARD,
      now - 60,
      caNow.certificate.notAfter + 365 * DAY,
      id.publicKey,
      id.cardId,
    );
    applet.nvm.transaction((tx) => writeIdentity(tx, { ...id, certificate: outliving.envelope }));
    const store = new TrustStore();
    store.addIssuer(caNow.certificate);
    const refused = (code: string) => (e: unknown) =>
      e instanceof CardSessionError && e.code === code && e.hint.length > 0;
    await assert.rejects(CardSession.open(reader, store, { now }), refused('CARD_OUTLIVES_ISSUER'));
    await assert.rejects(
      CardSession.open(reader, store, { now: caNow.certificate.notAfter + 1 }),
      refused('CARD_ISSUER_EXPIRED'),
    );
  });

  it('the card refuses a certificate that outlives its CA at personalisation (CERTIFICATE_INVALID)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const caNow = makeCaAround(now);
    const applet = new CardApplet(new Nvm(new MemoryBacking()));
    const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
    await client.select();
    const cardId = Uint8Array.from(randomBytes(8));
    const begin = await client.personalizeBegin({ cardId, algorithm: 1, issuer: caNow.certificate.envelope });
    const bad = cert(caNow, CERT_KIND.CARD, now, caNow.certificate.notAfter + 1, begin.publicKey, cardId);
    const { personalizationAuthorisationMessage } = await import('../../protocol/commands/index.js');
    const { sign } = await import('../../protocol/crypto/index.js');
    const commit = { certificate: bad.envelope, pin: ascii('0000'), puk: ascii('12345678') };
    const authorisation = sign(
      caNow.key.algorithm,
      caNow.key.privateKey,
      personalizationAuthorisationMessage(begin.challenge, commit),
    );
    await assert.rejects(
      client.personalizeCommit({ ...commit, authorisation }),
      (e: unknown) => e instanceof CardStatusError && e.statusName === 'CERTIFICATE_INVALID',
    );
  });

  it('the bank refuses a terminal whose certificate outlives the CA, and any terminal once the CA expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const caNow = makeCaAround(now);
    const dir = mkdtempSync(path.join(tmpdir(), 'cardpost-ca-'));
    let clock = now;
    const authorityKey = keyOf();
    const authority = cert(
      caNow,
      CERT_KIND.AUTHORITY,
      now - DAY,
      caNow.certificate.notAfter,
      authorityKey.publicKey,
      ascii('bank'),
    );
    const bank = new SimBank({
      dbPath: path.join(dir, 'b.sqlite'),
      issuerCertificate: caNow.certificate,
      authority: { key: authorityKey, certificate: authority },
      clock: () => clock,
    });
    try {
      const { url } = await bank.listen();
      const outKey = keyOf();
      const outliving = cert(
        caNow,
        CERT_KIND.TERMINAL,
        now - DAY,
        caNow.certificate.notAfter + 365 * DAY,
        outKey.publicKey,
      );
      const a = new BankTerminalClient({ baseUrl: url, key: outKey, certificate: outliving, clock: () => clock });
      const r1 = await a.request('GET', '/v1/reconciliation?date=2026-01-01');
      assert.equal(r1.status, 401, r1.text);
      assert.equal(r1.json().error.code, 'AUTH_CERT_INVALID');
      assert.match(r1.json().error.message, /outside|outlive/i);

      const goodKey = keyOf();
      const good = cert(caNow, CERT_KIND.TERMINAL, now - DAY, caNow.certificate.notAfter, goodKey.publicKey);
      const b = new BankTerminalClient({ baseUrl: url, key: goodKey, certificate: good, clock: () => clock });
      assert.equal((await b.request('GET', '/v1/reconciliation?date=2026-01-01')).status, 200);
      clock = caNow.certificate.notAfter + 10;
      const late = await b.request('GET', '/v1/reconciliation?date=2026-01-01');
      assert.equal(late.status, 401, late.text);
      assert.equal(late.json().error.code, 'AUTH_CERT_EXPIRED');
      assert.match(late.json().error.message, /issuer CA/);
    } finally {
      await bank.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("capToIssuer cuts a window to the CA's and refuses when nothing is left (ISSUER_CA_EXPIRED)", () => {
    assert.deepEqual(capToIssuer(ca.certificate, { notBefore: CA_FROM - 5, notAfter: CA_UNTIL + 5 }), {
      notBefore: CA_FROM,
      notAfter: CA_UNTIL,
    });
    assert.deepEqual(capToIssuer(ca.certificate, { notBefore: T0, notAfter: T0 + 1 }), {
      notBefore: T0,
      notAfter: T0 + 1,
    });
    assert.throws(
      () => capToIssuer(ca.certificate, { notBefore: CA_UNTIL + 1, notAfter: CA_UNTIL + 100 }),
      (e: unknown) => e instanceof CardpostError && e.code === 'ISSUER_CA_EXPIRED' && e.hint.length > 0,
    );
    assert.throws(
      () => capToIssuer(ca.certificate, { notBefore: T0, notAfter: T0 + 10 }, CA_UNTIL + 1),
      (e: unknown) => e instanceof CardpostError && e.code === 'ISSUER_CA_EXPIRED',
    );
  });

  it('the issuer tools never issue a certificate past the CA: terminals and cards are capped', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cardpost-issuer-'));
    try {
      const now = Math.floor(Date.now() / 1000);
      const issuer = initIssuerDir(path.join(dir, 'iss'), { now });
      const t = issueTerminal(issuer, 'T-09', path.join(dir, 't'), { now, years: 50 });
      assert.equal(t.certificate.notAfter, issuer.ca.certificate.notAfter);
      assert.ok(t.certificate.notBefore >= issuer.ca.certificate.notBefore);
      assert.equal(
        problem(new TrustStoreWith(issuer.ca.certificate).check(t.certificate, { now, kind: CERT_KIND.TERMINAL })),
        'ok',
      );
      assert.ok(issuer.authority.certificate.notAfter <= issuer.ca.certificate.notAfter);

      const applet = new CardApplet(new Nvm(new MemoryBacking()));
      const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
      const card = await personalizeCard(client, issuer.ca, {
        cardId: Uint8Array.from(randomBytes(8)),
        algorithm: 'sm2-sm3',
        currency: 156,
        limits: TEST_LIMITS,
        pin: ascii('0000'),
        puk: ascii('12345678'),
        notBefore: now - 3600,
        notAfter: now + 60 * 365 * DAY,
        serial: Uint8Array.of(9),
      });
      assert.equal(card.notAfter, issuer.ca.certificate.notAfter, 'the card certificate is capped to the CA');

      // an issuer whose CA has expired issues nothing, and the card is left untouched
      const old = initIssuerDir(path.join(dir, 'old'), { now: now - 30 * 365 * DAY });
      assert.throws(
        () => issueTerminal(old, 'T-10', path.join(dir, 't2'), { now }),
        (e: unknown) => e instanceof CardpostError && e.code === 'ISSUER_CA_EXPIRED',
      );
      const blank = new CardApplet(new Nvm(new MemoryBacking()));
      const c2 = new CardClient({ extendedLength: true, transmit: async (a) => blank.transmit(a) });
      await assert.rejects(
        personalizeCard(c2, old.ca, {
          cardId: Uint8Array.from(randomBytes(8)),
          algorithm: 'sm2-sm3',
          currency: 156,
          limits: TEST_LIMITS,
          pin: ascii('0000'),
          puk: ascii('12345678'),
          notBefore: now - 3600,
          notAfter: now + DAY,
          serial: Uint8Array.of(10),
        }),
        (e: unknown) => e instanceof CardpostError && e.code === 'ISSUER_CA_EXPIRED',
      );
      await c2.select();
      assert.equal((await c2.getInfo()).lifecycle, 0, 'the card is still blank');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A CA valid from a day before `now` for 30 days (the card and bank tests run on the real clock). */
function makeCaAround(now: number) {
  const key = keyOf();
  const certificate = selfSignedIssuer(key, {
    serial: Uint8Array.of(1),
    name: 'CA',
    notBefore: now - DAY,
    notAfter: now + 30 * DAY,
  });
  return { key, certificate };
}

class TrustStoreWith extends TrustStore {
  constructor(ca: Certificate) {
    super();
    this.addIssuer(ca);
  }
}
