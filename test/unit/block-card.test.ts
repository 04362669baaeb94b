import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { encodeCommandApdu } from '../../protocol/apdu/index.js';
import { buildMap, decodeCanonical, encodeCanonical, type CborMap } from '../../protocol/cbor/index.js';
import {
  CardClient,
  CardStatusError,
  INS,
  LIFECYCLE,
  PIN_REFERENCE,
  encodeBlockCardRequest,
  encodePinBlock,
  readBlockCardRequest,
  readCardInfo,
  readSelectInfo,
} from '../../protocol/commands/index.js';
import { DecodeError } from '../../protocol/errors.js';
import {
  BLOCK_REASON,
  decodeBlockOrder,
  encodeEnvelope,
  signBlockOrder,
  signBody,
  verifyBlockOrder,
  type BlockOrder,
} from '../../protocol/record/index.js';
import { sign } from '../../protocol/crypto/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { TestIssuer, ascii, NOW } from '../support/issuer.js';

function freshCard() {
  const applet = new CardApplet(new Nvm(new MemoryBacking()));
  applet.powerOn();
  const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  return { applet, client };
}

async function status(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof CardStatusError) return e.statusName;
    throw e;
  }
}

const decodeCode = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e.code;
    throw e;
  }
  return 'decoded';
};

describe('block order (docs/protocol.md §7.6): codec', () => {
  const issuer = new TestIssuer();
  const cardId = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const fields = { cardId, reason: BLOCK_REASON.STOLEN, issuedAt: 1_790_000_000, listSequence: 7 };

  it('round-trips, keeps its bytes and verifies under its signer only', () => {
    const o = signBlockOrder(issuer.authorityKey, fields);
    const again = decodeBlockOrder(o.envelope);
    assert.deepEqual(again.cardId, cardId);
    assert.equal(again.reason, BLOCK_REASON.STOLEN);
    assert.equal(again.issuedAt, 1_790_000_000);
    assert.equal(again.listSequence, 7);
    assert.deepEqual(again.envelope, o.envelope);
    assert.equal(verifyBlockOrder(again, issuer.authority.algorithm, issuer.authority.publicKey), true);
    assert.equal(verifyBlockOrder(again, issuer.certificate.algorithm, issuer.certificate.publicKey), false);
  });

  it('refuses another version, an unknown reason, a short card id, a zero sequence, an extra key and another type', () => {
    const o = signBlockOrder(issuer.authorityKey, fields);
    const body = decodeCanonical(o.body) as CborMap;
    const resigned = (change: (m: CborMap) => void): Uint8Array => {
      const m = new Map(body);
      change(m);
      return signBody(issuer.authorityKey.algorithm, issuer.authorityKey.privateKey, m).envelope;
    };
    assert.equal(
      decodeCode(() => decodeBlockOrder(resigned((m) => m.set(1, 2)))),
      'BLOCK_ORDER_VERSION',
    );
    assert.equal(
      decodeCode(() => decodeBlockOrder(resigned((m) => m.set(3, 9)))),
      'CBOR_SCHEMA',
    );
    assert.equal(
      decodeCode(() => decodeBlockOrder(resigned((m) => m.set(2, new Uint8Array(7))))),
      'CBOR_SCHEMA',
    );
    assert.equal(
      decodeCode(() => decodeBlockOrder(resigned((m) => m.set(5, 0)))),
      'CBOR_SCHEMA',
    );
    assert.equal(
      decodeCode(() => decodeBlockOrder(resigned((m) => m.set(6, 1)))),
      'CBOR_SCHEMA',
    );
    assert.equal(
      decodeCode(() => decodeBlockOrder(resigned((m) => m.set(0, 4)))),
      'ENVELOPE_WRONG_TYPE',
    );
    assert.equal(
      decodeCode(() => decodeBlockOrder(issuer.topup(cardId, 1, 5).envelope)),
      'ENVELOPE_WRONG_TYPE',
    );
    // a non-canonical body (a uint in a longer form than needed) is refused, signed or not
    const loose = Uint8Array.from([...o.body]);
    const idx = loose.lastIndexOf(0x07); // listSequence 7, the last value of the body
    const wide = Uint8Array.from([...loose.subarray(0, idx), 0x18, 0x07, ...loose.subarray(idx + 1)]);
    const env = encodeEnvelope({ body: wide, signature: sign('sm2-sm3', issuer.authorityKey.privateKey, wide) });
    assert.match(
      decodeCode(() => decodeBlockOrder(env)),
      /^CBOR_/,
    );
  });

  it('BLOCK_CARD request: order and optional authority, nothing else', () => {
    const q = readBlockCardRequest(encodeBlockCardRequest({ order: Uint8Array.of(1) }));
    assert.deepEqual(q, { order: Uint8Array.of(1) });
    const both = readBlockCardRequest(encodeBlockCardRequest({ order: Uint8Array.of(1), authority: Uint8Array.of(2) }));
    assert.deepEqual(both.authority, Uint8Array.of(2));
    assert.equal(
      decodeCode(() => readBlockCardRequest(new Map())),
      'CBOR_SCHEMA',
    );
    assert.equal(
      decodeCode(() =>
        readBlockCardRequest(
          buildMap([
            [1, Uint8Array.of(1)],
            [3, 1],
          ]),
        ),
      ),
      'CBOR_SCHEMA',
    );
  });
});

describe('card: BLOCK_CARD (docs/protocol.md §4.8)', function () {
  this.timeout(30_000);
  const issuer = new TestIssuer();

  async function activeCard() {
    const card = freshCard();
    const cardId = Uint8Array.from(randomBytes(8));
    await issuer.issue(card.client, { cardId });
    await card.client.load({ token: issuer.topup(cardId, 1, 10_000).envelope, authority: issuer.authority.envelope });
    await card.client.signTxn({
      amount: 300,
      currency: 156,
      merchantId: 'M',
      terminalId: 'T',
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
    });
    return { ...card, cardId };
  }
  const order = (cardId: Uint8Array, key = issuer.authorityKey): BlockOrder =>
    signBlockOrder(key, { cardId, reason: BLOCK_REASON.LOST, issuedAt: NOW(), listSequence: 3 });

  it("an order from the issuer's authority blocks the card; after it, only GET_INFO, SELECT and READ_JOURNAL", async () => {
    const { client, applet, cardId } = await activeCard();
    await client.verifyPin(ascii('1234'));
    await client.blockCard(order(cardId).envelope, issuer.authority.envelope);
    const info = await client.getInfo();
    assert.equal(info.lifecycle, LIFECYCLE.BLOCKED);
    assert.equal(info.pinVerified, false, 'blocking ends a verified PIN');
    assert.equal(info.balance, 9_700, 'the purse is kept');
    assert.equal((await client.select()).lifecycle, LIFECYCLE.BLOCKED);
    const journal = await client.readJournalFrom(1);
    assert.equal(journal.records.length, 1, 'the journal stays readable');
    const sale = {
      amount: 100,
      currency: 156,
      merchantId: 'M',
      terminalId: 'T',
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
    };
    assert.equal(await status(client.signTxn(sale)), 'BLOCKED');
    assert.equal(await status(client.verifyPin(ascii('1234'))), 'BLOCKED');
    assert.equal(await status(client.changePin(ascii('1234'), ascii('2468'))), 'BLOCKED');
    assert.equal(await status(client.unblockPin(ascii('12345678'), ascii('2468'))), 'BLOCKED');
    assert.equal(
      await status(client.load({ token: issuer.topup(cardId, 2, 5).envelope, authority: issuer.authority.envelope })),
      'BLOCKED',
    );
    assert.equal(await status(client.command('PERSONALIZE_BEGIN', new Map())), 'BLOCKED');
    assert.equal(await client.isoVerify(ascii('1234')), 0x6985, 'ISO VERIFY: conditions not satisfied');
    const isoChange = applet.transmit(
      encodeCommandApdu({
        cla: 0,
        ins: INS.CHANGE_REFERENCE_DATA,
        p1: 0,
        p2: PIN_REFERENCE,
        data: Uint8Array.from([...encodePinBlock(ascii('1234')), ...encodePinBlock(ascii('2468'))]),
      }),
    );
    assert.deepEqual([...isoChange], [0x69, 0x85]);
    assert.equal((await client.getInfo()).pinRetries, 3, 'no PIN try was spent');
    // an unknown command byte is still INVALID_COMMAND
    assert.equal(await status(client.command(0x7e as never)), 'INVALID_COMMAND');
  });

  it('is idempotent, and a forged order for a blocked card is still refused', async () => {
    const { client, cardId } = await activeCard();
    await client.blockCard(order(cardId).envelope, issuer.authority.envelope);
    await client.blockCard(order(cardId).envelope, issuer.authority.envelope);
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.BLOCKED);
    const forged = new TestIssuer();
    assert.equal(
      await status(client.blockCard(order(cardId, forged.authorityKey).envelope, issuer.authority.envelope)),
      'BLOCK_ORDER_INVALID',
    );
  });

  it('takes an order signed by the issuer CA itself, without an authority certificate', async () => {
    const { client, cardId } = await activeCard();
    assert.equal(await status(client.blockCard(order(cardId).envelope)), 'BLOCK_ORDER_INVALID');
    await client.blockCard(order(cardId, issuer.key).envelope);
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.BLOCKED);
  });

  it("refuses another card's order, a foreign authority, a non-authority certificate, a bad order; state unchanged", async () => {
    const { client, cardId } = await activeCard();
    const before = await client.getInfo();
    const other = new TestIssuer();
    const terminal = issuer.terminal('T-9');
    const cases: [Promise<unknown>, string][] = [
      [
        client.blockCard(order(Uint8Array.from(randomBytes(8))).envelope, issuer.authority.envelope),
        'BLOCK_ORDER_WRONG_CARD',
      ],
      [client.blockCard(order(cardId, other.authorityKey).envelope, other.authority.envelope), 'AUTHORITY_INVALID'],
      [client.blockCard(order(cardId).envelope, terminal.certificate.envelope), 'AUTHORITY_INVALID'],
      [client.blockCard(order(cardId).envelope, Uint8Array.of(0xa0)), 'AUTHORITY_INVALID'],
      [client.blockCard(Uint8Array.of(0xa1, 0x01, 0x41, 0x00), issuer.authority.envelope), 'BLOCK_ORDER_INVALID'],
      [client.blockCard(issuer.topup(cardId, 2, 1).envelope, issuer.authority.envelope), 'BLOCK_ORDER_INVALID'],
      [client.command('BLOCK_CARD', buildMap([[2, issuer.authority.envelope]])), 'INVALID_PARAMETER'],
    ];
    for (const [p, name] of cases) assert.equal(await status(p), name);
    const after = await client.getInfo();
    assert.deepEqual({ ...after, pinVerified: false }, { ...before, pinVerified: false });
  });

  it('a terminated or PIN-blocked card is blocked too; a blank card answers WRONG_STATE', async () => {
    const { client, cardId } = await activeCard();
    for (let i = 0; i < 3; i++) await status(client.verifyPin(ascii('9999')));
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.PIN_BLOCKED);
    for (let i = 0; i < 10; i++) await status(client.unblockPin(ascii('99999999'), ascii('2468')));
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.TERMINATED);
    await client.blockCard(order(cardId).envelope, issuer.authority.envelope);
    assert.equal((await client.getInfo()).lifecycle, LIFECYCLE.BLOCKED);
    const blank = freshCard();
    await blank.client.select();
    assert.equal(
      await status(blank.client.blockCard(order(cardId).envelope, issuer.authority.envelope)),
      'WRONG_STATE',
    );
  });

  it('GET_INFO and SELECT answers with life cycle 5 decode on the host', () => {
    const m = readSelectInfo(
      encodeCanonical(
        buildMap([
          [1, 1],
          [2, 1024],
          [3, true],
          [4, 5],
        ]),
      ),
    );
    assert.equal(m.lifecycle, LIFECYCLE.BLOCKED);
    assert.throws(() => readCardInfo(buildMap([[2, 6]])), DecodeError);
  });
});
