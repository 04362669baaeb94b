import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import {
  CardClient,
  CardStatusError,
  INS,
  LIFECYCLE,
  PIN_REFERENCE,
  encodePinBlock,
  type CardInfo,
} from '../../protocol/commands/index.js';
import { encodeCommandApdu } from '../../protocol/apdu/index.js';
import { PowerLoss } from '../../device-sim/card/nvm.js';
import { TestIssuer, ascii } from '../support/issuer.js';
import { requireSystem } from '../support/system.js';
import { buildMap, encodeCanonical } from '../../protocol/cbor/index.js';
import { K } from '../../device-sim/card/card-state.js';
import { TsCardUnderTest, cardImpl, type CardImpl, type CardUnderTest } from './card-impls.js';

/**
 * Security issue #12, hole 5, for every card implementation (card-impls.ts): the LAST PIN try (the
 * third wrong PIN) and the LAST PUK try (the tenth wrong PUK), through every command that checks
 * them, with the power cut after each NVM write in turn. After power-on the card must be consistent:
 * either nothing happened, or the try was spent and the card is blocked (PIN) / terminated (PUK). A
 * card whose tries read 0 never compares, tries never go negative and GET_INFO always decodes
 * (docs/protocol.md §6.2, §6.5). Run for the TypeScript card by test/security/card-tries-tearing.test.ts
 * (with a TypeScript-only case: tries written straight into the NVM, as older firmware left them).
 */

const PIN = '1234';
const PUK = '12345678';
const NEW_PIN = '2468';

/** A powered card and its client (the card object survives power cycles). */
function power(cut: CardUnderTest) {
  cut.card.powerOn();
  const client = new CardClient({ extendedLength: true, transmit: async (a) => cut.card.transmit(a) });
  return { cut, client };
}

const block2 = (a: string, b: string) => Uint8Array.from([...encodePinBlock(ascii(a)), ...encodePinBlock(ascii(b))]);
const isoApdu = (ins: number, data: Uint8Array) =>
  encodeCommandApdu({ cla: 0x00, ins, p1: 0, p2: PIN_REFERENCE, data });

/** Send an ISO PIN command and return its status word (PowerLoss propagates). */
async function iso(c: ReturnType<typeof power>, ins: number, data: Uint8Array): Promise<number> {
  const r = c.cut.card.transmit(isoApdu(ins, data));
  return (r[r.length - 2]! << 8) | r[r.length - 1]!;
}

/** Run a CBOR command, returning 'ok' or the status name it was refused with. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof CardStatusError) return e.statusName;
    throw e;
  }
}

interface Attempt {
  name: string;
  kind: 'pin' | 'puk';
  /** The attempt, with the given secret (wrong or right). */
  run: (c: ReturnType<typeof power>, secret: string) => Promise<unknown>;
}

const attempts: Attempt[] = [
  { name: 'CBOR VERIFY_PIN', kind: 'pin', run: (c, s) => outcome(c.client.verifyPin(ascii(s))) },
  { name: 'ISO VERIFY', kind: 'pin', run: (c, s) => iso(c, INS.VERIFY, encodePinBlock(ascii(s))) },
  { name: 'CBOR CHANGE_PIN', kind: 'pin', run: (c, s) => outcome(c.client.changePin(ascii(s), ascii(NEW_PIN))) },
  {
    name: 'ISO CHANGE REFERENCE DATA',
    kind: 'pin',
    run: (c, s) => iso(c, INS.CHANGE_REFERENCE_DATA, block2(s, NEW_PIN)),
  },
  { name: 'CBOR UNBLOCK_PIN', kind: 'puk', run: (c, s) => outcome(c.client.unblockPin(ascii(s), ascii(NEW_PIN))) },
  { name: 'ISO RESET RETRY COUNTER', kind: 'puk', run: (c, s) => iso(c, INS.RESET_RETRY_COUNTER, block2(s, NEW_PIN)) },
];

const wrong = (kind: 'pin' | 'puk') => (kind === 'pin' ? '9999' : '87654321');
const right = (kind: 'pin' | 'puk') => (kind === 'pin' ? PIN : PUK);

async function info(c: ReturnType<typeof power>): Promise<CardInfo> {
  await c.client.select();
  return c.client.getInfo(); // throws if GET_INFO no longer decodes
}

/** The consistency rules every state after power-on must satisfy. */
function checkConsistent(i: CardInfo, where: string): void {
  assert.ok(i.pinRetries >= 0 && i.pinRetries <= 3, `${where}: PIN tries ${i.pinRetries} out of range`);
  assert.ok(i.pukRetries >= 0 && i.pukRetries <= 10, `${where}: PUK tries ${i.pukRetries} out of range`);
  if (i.pukRetries === 0)
    assert.equal(i.lifecycle, LIFECYCLE.TERMINATED, `${where}: PUK tries 0 on a card that is not terminated`);
  if (i.pinRetries === 0 && i.lifecycle !== LIFECYCLE.TERMINATED) {
    assert.equal(i.lifecycle, LIFECYCLE.PIN_BLOCKED, `${where}: PIN tries 0 on a card that is not blocked`);
  }
}

/** With tries at 0 the card must refuse even the right secret, by every path. */
async function checkNeverAccepts(template: CardUnderTest, kind: 'pin' | 'puk', where: string): Promise<void> {
  for (const a of attempts.filter((x) => x.kind === kind)) {
    const c = power(template.clone());
    try {
      await c.client.select();
      const r = await a.run(c, right(kind));
      assert.ok(
        r !== 'ok' && r !== 0x9000,
        `${where}: ${a.name} accepted the right ${kind.toUpperCase()} with tries at 0`,
      );
      const again = await a.run(c, wrong(kind)); // a further wrong try must not push the counter below 0
      assert.ok(again !== 'ok' && again !== 0x9000, `${where}: ${a.name} accepted a wrong ${kind.toUpperCase()}`);
      checkConsistent(await info(c), `${where}, then ${a.name}`);
      const i = await info(c);
      assert.equal(
        kind === 'pin' ? i.pinRetries : i.pukRetries,
        0,
        `${where}: tries moved off 0 after a refused attempt`,
      );
    } finally {
      c.cut.close();
    }
  }
}

export function cardTriesTearingSuite(impl: CardImpl, label: string = impl): void {
  describe(`security #12 hole 5 (${label}): the last PIN / PUK try survives a power cut at every write`, function () {
    this.timeout(300_000);
    const issuer = new TestIssuer();
    let lastPin: CardUnderTest; // active card, PIN tries 1
    let lastPuk: CardUnderTest; // active card, PUK tries 1

    before(async function () {
      const factory = await cardImpl(impl);
      const why = factory.unavailable();
      if (why) requireSystem(this, [why], `the ${impl} card`);
      lastPin = factory.open();
      const p = power(lastPin);
      await issuer.issue(p.client, { cardId: Uint8Array.from(randomBytes(8)), pin: PIN, puk: PUK });
      await p.client.select();
      for (let k = 0; k < 2; k++) assert.equal(await outcome(p.client.verifyPin(ascii('9999'))), 'PIN_INVALID');
      assert.equal((await info(p)).pinRetries, 1);

      lastPuk = factory.open();
      const q = power(lastPuk);
      await issuer.issue(q.client, { cardId: Uint8Array.from(randomBytes(8)), pin: PIN, puk: PUK });
      await q.client.select();
      for (let k = 0; k < 9; k++)
        assert.equal(await outcome(q.client.unblockPin(ascii('87654321'), ascii(NEW_PIN))), 'PUK_INVALID');
      const i = await info(q);
      assert.equal(i.pukRetries, 1);
      assert.equal(i.lifecycle, LIFECYCLE.ACTIVE);
    });
    after(() => {
      lastPin?.close();
      lastPuk?.close();
    });

    for (const a of attempts) {
      for (const secret of ['wrong', 'right'] as const) {
        it(`${a.name}, ${secret} ${a.kind.toUpperCase()} on the last try: before, or spent and ${a.kind === 'pin' ? 'blocked' : 'terminated'}, never between`, async () => {
          const from = a.kind === 'pin' ? lastPin : lastPuk;
          const given = secret === 'wrong' ? wrong(a.kind) : right(a.kind);
          const probe = power(from.clone());
          const before = await info(probe);
          const w0 = probe.cut.writeCount;
          await a.run(probe, given);
          const writes = probe.cut.writeCount - w0;
          probe.cut.close();
          assert.ok(writes > 0, 'the attempt writes');

          for (let cut = 1; cut <= writes; cut++) {
            const card = power(from.clone());
            try {
              await card.client.select();
              card.cut.cutPowerAfter(cut);
              await assert.rejects(
                a.run(card, given),
                (e: unknown) => e instanceof PowerLoss,
                `power loss at write ${cut}/${writes}`,
              );
              const where = `${a.name} (${secret}) cut at write ${cut}/${writes}`;
              card.cut.powerCycle();
              const reborn = power(card.cut);
              const s = await info(reborn);
              checkConsistent(s, where);
              const tries = a.kind === 'pin' ? s.pinRetries : s.pukRetries;
              const untouched = tries === 1 && s.lifecycle === before.lifecycle;
              const spent =
                tries === 0 && s.lifecycle === (a.kind === 'pin' ? LIFECYCLE.PIN_BLOCKED : LIFECYCLE.TERMINATED);
              // A right secret may also have completed (tries restored) if the cut hit the command's very end.
              const done =
                secret === 'right' &&
                (a.kind === 'pin' ? s.pinRetries === 3 : s.pukRetries === 10 && s.lifecycle === LIFECYCLE.ACTIVE);
              assert.ok(
                untouched || spent || done,
                `${where}: inconsistent state ${JSON.stringify({ lifecycle: s.lifecycle, pin: s.pinRetries, puk: s.pukRetries })}`,
              );
              if (spent) await checkNeverAccepts(card.cut, a.kind, where);
            } finally {
              card.cut.close();
            }
          }
        });
      }
    }

    it('the wrong last try itself ends blocked (PIN) / terminated (PUK), and nothing is accepted afterwards', async () => {
      for (const a of attempts) {
        const c = power((a.kind === 'pin' ? lastPin : lastPuk).clone());
        await c.client.select();
        const r = await a.run(c, wrong(a.kind));
        assert.ok(
          r === (a.kind === 'pin' ? 'PIN_BLOCKED' : 'PUK_BLOCKED') || r === 0x6983,
          `${a.name}: last wrong try answered ${String(r)}`,
        );
        const i = await info(c);
        checkConsistent(i, a.name);
        await checkNeverAccepts(c.cut, a.kind, a.name);
        c.cut.close();
      }
    });

    // Older TypeScript firmware could leave these values; the C card never stored a signed count.
    if (impl === 'ts')
      it('a card torn by older firmware (PUK tries 0 or negative on an active card) reads as terminated and never compares', async () => {
        for (const stored of [0, -1]) {
          const card = lastPuk.clone();
          assert.ok(card instanceof TsCardUnderTest);
          card.setNvm(K.pukRetries, encodeCanonical(buildMap([[1, stored]])));
          card.powerCycle();
          const i = await info(power(card));
          assert.equal(i.pukRetries, 0, `stored ${stored} reads as 0`);
          assert.equal(i.lifecycle, LIFECYCLE.TERMINATED, `stored ${stored}: the card is terminated`);
          await checkNeverAccepts(card, 'puk', `stored PUK tries ${stored}`);
          card.close();
        }
      });
  });
}
