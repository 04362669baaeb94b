import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../protocol/bytes.js';
import { encodeCanonical, type CborMap } from '../../protocol/cbor/index.js';
import {
  CMD,
  CardClient,
  decodeCommandData,
  encodeBlockCardRequest,
  encodeChangePinRequest,
  encodeLoadRequest,
  encodeReadJournalRequest,
  encodeResponseData,
  encodeSignTxnRequest,
  encodeUnblockPinRequest,
  encodeVerifyPinRequest,
  encodeVoidTxnRequest,
  type Limits,
  type SignTxnRequest,
  type VoidTxnRequest,
} from '../../protocol/commands/index.js';
import { signBlockOrder } from '../../protocol/record/index.js';
import type { SignatureAlgorithm } from '../../protocol/crypto/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { CardCommands, type CommandOutcome } from '../../device-sim/card/card-commands.js';
import { effectiveLifecycle, readIdentity, readPurse } from '../../device-sim/card/card-state.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { Prng } from '../support/prng.js';
import { TestIssuer, ascii } from '../support/issuer.js';
import { drive, imageAsDump, normaliseDump, normaliseResponse, parseDump, putLines } from './card-commands-driver.js';

/**
 * The C command layer against the TypeScript reference (device-sim/card/card-commands.ts): both
 * cards start from the same NVM image (a card personalised and topped up by the TS code), take the
 * same random sequence of CBOR and ISO PIN commands — right and wrong PINs, sales within and beyond
 * every limit, retries, voids, top-ups, syncs, refunds, journal pages, malformed requests, a block
 * order — and must give the same answers and hold the same NVM values, byte for byte, except the
 * random signatures inside records, which are checked to verify under the card key instead.
 */

const JOURNAL = 16;
const LIMITS: Limits = {
  perTransaction: 20_000,
  noPin: 5_000,
  offlineAmount: 60_000,
  offlineCount: 8,
  maxBalance: 100_000,
};

interface TsCard {
  nvm: Nvm;
  backing: MemoryBacking;
  cmds: CardCommands;
  cardId: Uint8Array;
  cardKey: Uint8Array;
}

async function tsCard(issuer: TestIssuer, algorithm: SignatureAlgorithm): Promise<TsCard> {
  const backing = new MemoryBacking();
  const nvm = new Nvm(backing);
  const applet = new CardApplet(nvm, { journalCapacity: JOURNAL });
  const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  const cardId = Uint8Array.from(randomBytes(8));
  applet.powerOn();
  await issuer.issue(client, { cardId, pin: '1234', puk: '12345678', limits: LIMITS, cardAlgorithm: algorithm });
  await client.load({ token: issuer.topup(cardId, 1, 50_000).envelope, authority: issuer.authority.envelope });
  applet.powerOff();
  const cmds = new CardCommands(nvm, { maxMessageSize: 2048, journalCapacity: JOURNAL, random: (n) => randomBytes(n) });
  return { nvm, backing, cmds, cardId, cardKey: readIdentity(nvm)!.publicKey };
}

const image = (c: TsCard): Record<string, string> => c.backing.load()!.main;

/** The TS applet's CBOR path (CardApplet.cbor) in the driver's answer format. */
function tsRun(c: TsCard, data: Uint8Array): string {
  let outcome: CommandOutcome;
  try {
    const parsed = decodeCommandData(data);
    outcome = c.cmds.run(parsed.command, parsed.params, effectiveLifecycle(c.nvm));
  } catch (e) {
    outcome = c.cmds.refusal(e);
  }
  return `0 ${toHex(encodeResponseData(outcome.status, outcome.result))}`;
}

function tsIso(c: TsCard, ins: number, pins: string[]): string {
  let sw: number;
  try {
    sw = c.cmds.isoPin(ins, pins.map(ascii), effectiveLifecycle(c.nvm));
  } catch {
    sw = 0x6f00;
  }
  return `0 ${sw.toString(16).padStart(4, '0')}`;
}

interface Step {
  line: string;
  ts: string;
}

const runLine = (data: Uint8Array) =>
  `run ${toHex(data.subarray(0, 1))} ${data.length > 1 ? toHex(data.subarray(1)) : '-'}`;
const cmd = (command: number, params?: CborMap | Uint8Array): Uint8Array => {
  const body =
    params === undefined ? new Uint8Array(0) : params instanceof Uint8Array ? params : encodeCanonical(params);
  return Uint8Array.from([command, ...body]);
};

/** A random session against the TS card; each step's TS answer is computed as it is generated. */
function randomSession(c: TsCard, issuer: TestIssuer, rogue: TestIssuer, rng: Prng, steps: number): Step[] {
  const out: Step[] = [];
  let pin = '1234';
  let lastSale: SignTxnRequest | undefined;
  let lastVoid: VoidTxnRequest | undefined;
  const nonce = () => Uint8Array.from(rng.bytes(16));
  const run = (data: Uint8Array) => out.push({ line: runLine(data), ts: tsRun(c, data) });
  for (let i = 0; i < steps; i++) {
    const purse = readPurse(c.nvm);
    if (i > 0 && i % 20 === 0) out.push({ line: 'dump', ts: JSON.stringify(image(c)) });
    if (i === steps - 25) {
      // The issuer blocks the card: another card's order first, then its own; the rest is mostly refused.
      const order = (cardId: Uint8Array) =>
        signBlockOrder(issuer.key, { cardId, reason: 1, issuedAt: 1_700_000_000, listSequence: 3 }).envelope;
      run(cmd(CMD.BLOCK_CARD, encodeBlockCardRequest({ order: order(Uint8Array.from(randomBytes(8))) })));
      run(cmd(CMD.BLOCK_CARD, encodeBlockCardRequest({ order: order(c.cardId), authority: rogue.authority.envelope })));
      run(cmd(CMD.BLOCK_CARD, encodeBlockCardRequest({ order: order(c.cardId) })));
      continue;
    }
    const k = rng.int(100);
    if (k < 6) run(cmd(CMD.GET_INFO, rng.bool(0.8) ? undefined : new Map()));
    else if (k < 16) {
      const p = rng.pick([pin, pin, pin, '9999', '12a4', '123']);
      if (p === '123') run(cmd(CMD.VERIFY_PIN, new Map([[1, ascii(p)]])));
      else run(cmd(CMD.VERIFY_PIN, encodeVerifyPinRequest(ascii(p))));
    } else if (k < 42) {
      const repeat = lastSale !== undefined && rng.bool(0.2);
      const q: SignTxnRequest =
        repeat && lastSale
          ? rng.bool(0.7)
            ? lastSale
            : { ...lastSale, amount: lastSale.amount + 1 }
          : {
              amount: rng.pick([1, 500, 4_999, 5_000, 5_001, 12_000, 19_999, 20_000, 20_001, 70_000]),
              currency: rng.bool(0.9) ? 156 : 978,
              merchantId: rng.pick(['m-1', 'Café Ü', 'x'.repeat(32)]),
              terminalId: rng.pick(['t-1', 'T9']),
              time: 1_700_000_000 + i,
              hostNonce: nonce(),
            };
      lastSale = q;
      run(cmd(CMD.SIGN_TXN, encodeSignTxnRequest(q)));
    } else if (k < 52) {
      const again = lastVoid !== undefined && rng.bool(0.25);
      const sale = lastSale;
      const q: VoidTxnRequest =
        again && lastVoid
          ? rng.bool(0.7)
            ? lastVoid
            : { ...lastVoid, time: lastVoid.time + 1 }
          : {
              counter: Math.max(1, purse.counter - rng.pick([0, 0, 0, 1])),
              amount: sale && rng.bool(0.85) ? sale.amount : 77,
              merchantId: sale && rng.bool(0.9) ? sale.merchantId : 'other',
              terminalId: sale ? sale.terminalId : 't-1',
              time: 1_700_000_500 + i,
              hostNonce: nonce(),
            };
      lastVoid = q;
      run(cmd(CMD.VOID_TXN, encodeVoidTxnRequest(q)));
    } else if (k < 64) {
      const seq = purse.loadCounter + (rng.bool(0.85) ? 1 : rng.pick([0, 2]));
      const refundOf = rng.bool(0.25)
        ? Math.max(1, purse.counter - rng.pick([0, 1, 1, 2, 20]) + (rng.bool(0.1) ? 5 : 0))
        : undefined;
      const token = (rng.bool(0.05) ? rogue : issuer).topup(c.cardId, seq, rng.pick([0, 1_000, 30_000, 200_000]), {
        resetOffline: rng.bool(0.6),
        settledCounter: rng.pick([0, Math.max(0, purse.counter - 2), purse.counter, 0xffff_ffff]),
        validUntilCounter: rng.bool(0.9) ? 0xffff_ffff : 0,
        currency: rng.bool(0.95) ? 156 : 978,
        ...(refundOf !== undefined ? { refundOf } : {}),
      });
      const authority = rng.bool(0.95) ? issuer.authority : rogue.authority;
      run(cmd(CMD.LOAD, encodeLoadRequest({ token: token.envelope, authority: authority.envelope })));
    } else if (k < 70) {
      const from = rng.pick([0, 1, Math.max(0, purse.counter - 3), purse.counter + 1]);
      run(
        cmd(
          CMD.READ_JOURNAL,
          encodeReadJournalRequest({
            fromCounter: from,
            ...(rng.bool(0.5) ? { maxRecords: rng.pick([1, 3, 100]) } : {}),
          }),
        ),
      );
    } else if (k < 75) {
      const next = rng.pick(['1234', '5678', '24680']);
      const old = rng.bool(0.8) ? pin : '0000';
      const data = cmd(CMD.CHANGE_PIN, encodeChangePinRequest(ascii(old), ascii(next)));
      const step = { line: runLine(data), ts: tsRun(c, data) };
      if (step.ts === '0 00a10103') pin = next;
      out.push(step);
    } else if (k < 79) {
      const next = rng.pick(['1234', '5678']);
      const puk = rng.bool(0.8) ? '12345678' : '87654321';
      const data = cmd(CMD.UNBLOCK_PIN, encodeUnblockPinRequest(ascii(puk), ascii(next)));
      const step = { line: runLine(data), ts: tsRun(c, data) };
      if (step.ts === '0 00a10103') pin = next;
      out.push(step);
    } else if (k < 87) {
      const ins = rng.pick([0x20, 0x20, 0x24, 0x2c]);
      let pins: string[];
      if (ins === 0x20) pins = rng.pick([[], [pin], ['9999']]);
      else if (ins === 0x24) pins = [rng.bool(0.8) ? pin : '0000', rng.pick(['1234', '5678'])];
      else pins = [rng.pick(['12345678', '87654321', '1234']), rng.pick(['1234', '5678'])];
      const ts = tsIso(c, ins, pins);
      if (ts === '0 9000' && ins !== 0x20) pin = pins[1]!;
      out.push({ line: `iso ${ins.toString(16)} ${pins[0] ?? '-'} ${pins[1] ?? '-'}`, ts });
    } else if (k < 95) {
      const kind = rng.int(5);
      if (kind === 0) run(Uint8Array.from([rng.pick([0x01, 0x02, 0x03, 0x05]), ...rng.bytes(1 + rng.int(20))]));
      else if (kind === 1) run(cmd(rng.pick([0x00, 0x0c, 0xff])));
      else if (kind === 2)
        run(
          cmd(
            CMD.VERIFY_PIN,
            new Map<number, unknown>([
              [1, ascii(pin)],
              [2, 0],
            ]) as CborMap,
          ),
        );
      else if (kind === 3)
        run(cmd(rng.pick([CMD.SIGN_TXN, CMD.LOAD, CMD.READ_JOURNAL, CMD.GET_INFO]), Uint8Array.of(0x01)));
      else run(cmd(rng.pick([CMD.SIGN_TXN, CMD.READ_JOURNAL, CMD.VOID_TXN, CMD.BLOCK_CARD])));
    } else {
      c.cmds.pinVerified = false;
      out.push({ line: 'clear', ts: 'ok' });
    }
  }
  out.push({ line: 'dump', ts: JSON.stringify(image(c)) });
  return out;
}

for (const algorithm of ['sm2-sm3', 'ecdsa-p256-sha256'] as const) {
  describe(`C card commands against the TypeScript card (${algorithm})`, function () {
    this.timeout(300_000);

    for (const seed of [1, 2, 3, 4]) {
      // Seed 4 runs the C side under AddressSanitizer and UndefinedBehaviorSanitizer.
      const sanitize = seed === 4;
      it(`seed ${seed}: the same answers and the same NVM after every 20 commands${sanitize ? ' (ASan, UBSan)' : ''}`, async () => {
        const issuer = new TestIssuer(algorithm);
        const rogue = new TestIssuer(algorithm);
        const c = await tsCard(issuer, algorithm);
        const start = image(c);
        const steps = randomSession(c, issuer, rogue, new Prng(seed), 300);
        const lines = ['cfg 2048 16', 'mount', ...putLines(start), 'mount', ...steps.map((s) => s.line)];
        const answers = drive(lines, { sanitize }).slice(3 + Object.keys(start).length);
        let dumps = 0;
        const statuses = new Map<string, number>();
        for (let i = 0; i < steps.length; i++) {
          const s = steps[i]!;
          const got = answers[i]!;
          if (s.line === 'dump') {
            dumps++;
            const want = imageAsDump(JSON.parse(s.ts) as Record<string, string>);
            assert.deepEqual(
              normaliseDump(parseDump(got), c.cardKey),
              normaliseDump(want, c.cardKey),
              `NVM after step ${i}`,
            );
            continue;
          }
          if (s.line.startsWith('run')) {
            assert.ok(got.startsWith('0 '), `step ${i} ${s.line}: driver result ${got}`);
            const g = normaliseResponse(got.slice(2), c.cardKey);
            assert.deepEqual(g, normaliseResponse(s.ts.slice(2), c.cardKey), `step ${i}: ${s.line.slice(0, 120)}`);
            assert.ok(
              !JSON.stringify(g).includes('"signatureVerifies":false'),
              `step ${i}: a record that does not verify`,
            );
            const st = s.ts.slice(2, 4);
            statuses.set(st, (statuses.get(st) ?? 0) + 1);
          } else {
            assert.equal(got, s.ts, `step ${i}: ${s.line}`);
          }
        }
        assert.ok(dumps >= 10);
        // The session must have reached many different answers, or it proves little.
        const seen = JSON.stringify([...statuses]);
        if (process.env.CP_SHOW_STATUSES) console.log(seen);
        assert.ok((statuses.get('00') ?? 0) > 30, seen);
        assert.ok((statuses.get('07') ?? 0) > 0, `never refused as blocked: ${seen}`);
        assert.ok(statuses.size >= 12, `only ${statuses.size} different statuses: ${seen}`);
      });
    }
  });
}
