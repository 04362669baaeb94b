/**
 * Seeded fuzzing of the APDU layer (protocol/apdu): the command and response decoders, the card-side
 * chain reassembler and the host-side exchange() against hostile cards.
 *
 * Invariants:
 *  - decodeCommandApdu / decodeResponseApdu either return or throw DecodeError — nothing else;
 *  - whatever decodeCommandApdu accepts is a well-formed command that encodeCommandApdu (with the
 *    decoded `form`) turns back into exactly the same bytes;
 *  - ChainAssembler only throws DecodeError, never holds or returns more than its byte bound, and
 *    reassembles exactly the parts it was given;
 *  - exchange() against a transport answering garbage / endless 61xx / endless 6Cxx settles (resolves,
 *    or rejects with DecodeError) within a bounded number of transmits, sending only well-formed APDUs.
 *
 * FUZZ_SEED overrides the seed (printed in the titles), FUZZ_ROUNDS multiplies the case counts.
 */
import assert from 'node:assert/strict';
import {
  ChainAssembler,
  CLA_CHAINING_BIT,
  decodeCommandApdu,
  decodeResponseApdu,
  encodeCommandApdu,
  encodeResponseApdu,
  exchange,
  type ApduTransport,
  type CommandApdu,
  type ExchangeOptions,
  type LengthEncoding,
} from '../../protocol/apdu/index.js';
import { bytesEqual, concatBytes, toHex } from '../../protocol/bytes.js';
import { DecodeError } from '../../protocol/errors.js';
import { Prng } from '../support/prng.js';
import { fuzzSeed, FUZZ_ROUNDS, hexSeed, explain } from '../support/fuzz.js';

const SEED = fuzzSeed(0xa9d0_f022);
const ROUNDS = FUZZ_ROUNDS;

/** Run a decoder: its result, or the DecodeError it threw. Anything else fails the test with the input. */
function decodeOrError<T>(what: string, input: Uint8Array, decode: (b: Uint8Array) => T): T | DecodeError {
  try {
    return decode(input);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    return assert.fail(`${what} threw a non-DecodeError for ${toHex(input)}: ${explain(e)}`);
  }
}

// ---------------------------------------------------------------- generators

type ApduCase = 1 | 2 | 3 | 4;

/** A valid command of the given ISO case and length form (CLA FF excluded: reserved, see the skipped test). */
function randomCommand(rng: Prng, apduCase: ApduCase, form: LengthEncoding): CommandApdu {
  let cla = rng.bool(0.5) ? rng.pick([0x00, 0x80, 0x90, 0x10, 0x84, 0x0c, 0xe0]) : rng.int(256);
  if (cla === 0xff) cla = 0xfe;
  const cmd: CommandApdu = { cla, ins: rng.int(256), p1: rng.int(256), p2: rng.int(256) };
  const maxData = form === 'short' ? 255 : 65535;
  const maxLe = form === 'short' ? 256 : 65536;
  if (apduCase === 3 || apduCase === 4) {
    const n = rng.bool(0.1)
      ? rng.pick([1, 2, 255, 256, maxData])
      : 1 + rng.int(form === 'short' ? 255 : rng.bool(0.8) ? 600 : 5000);
    cmd.data = rng.bytes(Math.min(n, maxData));
  }
  if (apduCase === 2 || apduCase === 4) {
    cmd.le = rng.bool(0.3)
      ? rng.pick([1, 2, 255, 256, 257, maxLe - 1, maxLe].filter((x) => x <= maxLe))
      : 1 + rng.int(maxLe);
  }
  return cmd;
}

/** Damage a command APDU the way a reader, a driver or an attacker might. */
function mutateApdu(rng: Prng, src: Uint8Array): Uint8Array {
  const b = Array.from(src);
  const rounds = rng.bool(0.8) ? 1 : 2 + rng.int(2);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(11)) {
      case 0: {
        // bit flips anywhere
        const n = 1 + rng.int(3);
        for (let i = 0; i < n && b.length > 0; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
        break;
      }
      case 1:
        b.length = rng.int(b.length + 1);
        break; // truncation
      case 2:
        b.push(...rng.pick([[0], [0, 0], [0xff], Array.from(rng.bytes(1 + rng.int(4)))]));
        break; // extension
      case 3: // short Lc (or the extended marker) changed
        if (b.length > 4) b[4] = rng.pick([0, 1, 0xff, (b[4]! + 1) & 0xff, (b[4]! + 0xff) & 0xff, rng.int(256)]);
        break;
      case 4: // extended Lc / Le bytes changed
        if (b.length > 6) {
          const i = 5 + rng.int(2);
          b[i] = rng.pick([0, 0xff, (b[i]! + 1) & 0xff, (b[i]! + 0xff) & 0xff, rng.int(256)]);
        }
        break;
      case 5: // Le changed or dropped
        if (b.length > 4) {
          if (rng.bool(0.3)) b.pop();
          else b[b.length - 1] = rng.pick([0, 1, 0xff, rng.int(256)]);
        }
        break;
      case 6:
        if (b.length >= 4) b.splice(4, 0, 0);
        break; // insert an extended-length marker
      case 7:
        if (b.length > 4) b.splice(4, 1);
        break; // remove the byte after the header
      case 8:
        if (b.length > 0) b.splice(rng.int(b.length), 1 + rng.int(3));
        break; // deletion
      case 9:
        if (b.length > 0) b.splice(rng.int(b.length + 1), 0, ...rng.bytes(1 + rng.int(3)));
        break; // insertion
      default: {
        // body replaced by random bytes of a nearby length
        const body = rng.bytes(Math.max(0, b.length - 4 + rng.int(5) - 2));
        b.length = Math.min(b.length, 4);
        b.push(...body);
      }
    }
  }
  return Uint8Array.from(b);
}

// ---------------------------------------------------------------- checks

interface CommandStats {
  accepted: number;
  rejected: number;
  reservedCla: number;
}

/** decodeCommandApdu on one input; accepted commands must be well-formed and re-encode to the same bytes. */
function checkCommand(bytes: Uint8Array, stats: CommandStats): void {
  const r = decodeOrError('decodeCommandApdu', bytes, decodeCommandApdu);
  if (r instanceof DecodeError) {
    assert.equal(r.code, 'APDU_MALFORMED', `unexpected code ${r.code} for ${toHex(bytes)}`);
    stats.rejected++;
    return;
  }
  stats.accepted++;
  const maxData = r.form === 'short' ? 255 : 65535;
  const maxLe = r.form === 'short' ? 256 : 65536;
  for (const [k, v] of [
    ['cla', r.cla],
    ['ins', r.ins],
    ['p1', r.p1],
    ['p2', r.p2],
  ] as const) {
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xff, `${k} ${v} is not a byte for ${toHex(bytes)}`);
  }
  if (r.data !== undefined)
    assert.ok(
      r.data.length >= 1 && r.data.length <= maxData,
      `data of ${r.data.length} bytes in a ${r.form} APDU ${toHex(bytes)}`,
    );
  if (r.le !== undefined)
    assert.ok(Number.isInteger(r.le) && r.le >= 1 && r.le <= maxLe, `Le ${r.le} in a ${r.form} APDU ${toHex(bytes)}`);
  if (r.cla === 0xff) {
    // Known: the decoder accepts the PPS class byte that the encoder refuses (see the skipped test below).
    stats.reservedCla++;
    return;
  }
  let again: Uint8Array;
  try {
    again = encodeCommandApdu(r, r.form);
  } catch (e) {
    return assert.fail(`accepted ${toHex(bytes)} but cannot re-encode it (${r.form}): ${explain(e)}`);
  }
  assert.equal(toHex(again), toHex(bytes), `accepted ${toHex(bytes)} re-encodes differently (${r.form})`);
}

function checkResponse(bytes: Uint8Array): 'accepted' | 'rejected' {
  const r = decodeOrError('decodeResponseApdu', bytes, decodeResponseApdu);
  if (r instanceof DecodeError) {
    assert.equal(r.code, 'APDU_RESPONSE_SHORT', `unexpected code ${r.code} for ${toHex(bytes)}`);
    assert.ok(bytes.length < 2, `rejected a response of ${bytes.length} bytes: ${toHex(bytes)}`);
    return 'rejected';
  }
  assert.ok(Number.isInteger(r.sw) && r.sw >= 0 && r.sw <= 0xffff, `sw ${r.sw} for ${toHex(bytes)}`);
  assert.equal(r.data.length, bytes.length - 2, `data length for ${toHex(bytes)}`);
  assert.equal(toHex(encodeResponseApdu(r.data, r.sw)), toHex(bytes), `response ${toHex(bytes)} does not round-trip`);
  return 'accepted';
}

// ---------------------------------------------------------------- decoders

describe(`fuzz: APDU decoders (seed ${hexSeed(SEED)})`, function () {
  this.timeout(60_000);

  it(`decodeCommandApdu on random bytes: only DecodeError, accepted input re-encodes identically (seed ${hexSeed(SEED)})`, () => {
    const rng = new Prng(SEED);
    const stats: CommandStats = { accepted: 0, rejected: 0, reservedCla: 0 };
    for (let i = 0; i < 6_000 * ROUNDS; i++) {
      const len = rng.bool(0.7) ? rng.int(12) : rng.bool(0.8) ? rng.int(300) : rng.int(2000);
      checkCommand(rng.bytes(len), stats);
    }
    // Random bytes that happen to be APDUs: every 4-byte and 5-byte input, a good share of the rest.
    assert.ok(
      stats.accepted > 500 && stats.rejected > 500,
      `accepted ${stats.accepted}, rejected ${stats.rejected}: generator too weak`,
    );
  });

  it(`valid encodings of all four cases, short and extended, decode to themselves; their mutants only fail with DecodeError (seed ${hexSeed(SEED + 1)})`, () => {
    const rng = new Prng(SEED + 1);
    const stats: CommandStats = { accepted: 0, rejected: 0, reservedCla: 0 };
    let valid = 0;
    for (let i = 0; i < 1_000 * ROUNDS; i++) {
      for (const form of ['short', 'extended'] as const) {
        for (const apduCase of [1, 2, 3, 4] as const) {
          const cmd = randomCommand(rng, apduCase, form);
          const bytes = encodeCommandApdu(cmd, form);
          const back = decodeOrError('decodeCommandApdu', bytes, decodeCommandApdu);
          if (back instanceof DecodeError)
            assert.fail(`valid case ${apduCase} ${form} APDU refused: ${back.message} (${toHex(bytes)})`);
          // case 1 has no length field, so it reads back as the short form
          const expected = { ...cmd, form: apduCase === 1 ? 'short' : form };
          assert.deepStrictEqual(back, expected, `case ${apduCase} ${form}: ${toHex(bytes)}`);
          valid++;
          let m = bytes;
          for (let j = 0; j < 3; j++) {
            m = mutateApdu(rng, rng.bool(0.6) ? bytes : m);
            checkCommand(m, stats);
          }
        }
      }
    }
    assert.equal(valid, 8_000 * ROUNDS, 'every valid command was checked');
    assert.ok(
      stats.accepted > 2_000 && stats.rejected > 2_000,
      `accepted ${stats.accepted}, rejected ${stats.rejected} mutants`,
    );
  });

  // Regression test (this fuzzer found the bug; fixed): decodeCommandApdu accepts CLA FF, which ISO 7816-3/4
  // reserve for PPS and which encodeCommandApdu refuses (EncodeError APDU_FIELD_RANGE). So
  // decodeCommandApdu(ff a4 04 00) returns a command that cannot be re-encoded: the codec is not
  // symmetric. The card applet answers 6881 to it, so nothing crashes. Un-skip once the decoder refuses CLA FF.
  it('decodeCommandApdu refuses CLA FF, as the encoder does', () => {
    for (const hex of ['ff000000', 'ffa4040000', 'ffa404000af04341524450 4f535401', 'ff10000001aa00']) {
      const bytes = Uint8Array.from(Buffer.from(hex.replace(/ /g, ''), 'hex'));
      const r = decodeOrError('decodeCommandApdu', bytes, decodeCommandApdu);
      assert.ok(r instanceof DecodeError, `CLA FF accepted: ${toHex(bytes)}`);
    }
  });

  it(`decodeResponseApdu on random bytes and mutated responses: DecodeError only below 2 bytes, exact split otherwise (seed ${hexSeed(SEED + 2)})`, () => {
    const rng = new Prng(SEED + 2);
    let rejected = 0;
    for (let i = 0; i < 5_000 * ROUNDS; i++) {
      const input = rng.bool(0.5)
        ? rng.bytes(rng.bool(0.5) ? rng.int(4) : rng.int(600))
        : mutateApdu(
            rng,
            encodeResponseApdu(rng.bytes(rng.int(300)), rng.pick([0x9000, 0x6100, 0x6c10, 0x6a80, rng.int(0x10000)])),
          );
      if (checkResponse(input) === 'rejected') rejected++;
    }
    assert.ok(rejected > 100, `only ${rejected} short responses generated`);
  });
});

// ---------------------------------------------------------------- chaining

/** A part of a would-be chain: mostly the same header so that chains form, sometimes another one. */
function randomPart(rng: Prng): CommandApdu {
  const cla = rng.pick([0x90, 0x90, 0x90, 0x80, 0x80, 0x10, 0x00, 0x94, rng.int(256)]);
  const part: CommandApdu = {
    cla,
    ins: rng.bool(0.85) ? 0x10 : rng.pick([0x20, 0xc0, rng.int(256)]),
    p1: rng.bool(0.9) ? 0 : rng.int(256),
    p2: rng.bool(0.9) ? 0 : rng.int(256),
  };
  const n = rng.bool(0.1) ? 0 : rng.bool(0.1) ? rng.pick([1, 255, 256, 1024, 2048, 2049]) : rng.int(300);
  if (n > 0) part.data = rng.bytes(n);
  if (rng.bool(0.3)) part.le = 1 + rng.int(256);
  return part;
}

const describePart = (c: CommandApdu): string =>
  `${[c.cla, c.ins, c.p1, c.p2].map((x) => x.toString(16).padStart(2, '0')).join(' ')} data ${c.data?.length ?? 0} le ${c.le ?? '-'}`;

const headKey = (c: CommandApdu): string => `${c.cla & ~CLA_CHAINING_BIT}/${c.ins}/${c.p1}/${c.p2}`;

/** What the assembler holds, read from its private fields (for the bound check only). */
function buffered(asm: ChainAssembler): { size: number; partBytes: number } {
  const raw = asm as unknown as { size: unknown; parts: unknown };
  const size = typeof raw.size === 'number' ? raw.size : 0;
  const partBytes = Array.isArray(raw.parts) ? (raw.parts as Uint8Array[]).reduce((n, p) => n + p.length, 0) : 0;
  return { size, partBytes };
}

function checkBound(asm: ChainAssembler, maxBytes: number, ctx: string): void {
  const { size, partBytes } = buffered(asm);
  assert.ok(size <= maxBytes, `${ctx}: assembler accounts ${size} bytes, over its bound ${maxBytes}`);
  assert.ok(partBytes <= maxBytes, `${ctx}: assembler buffers ${partBytes} bytes, over its bound ${maxBytes}`);
}

describe(`fuzz: ChainAssembler (seed ${hexSeed(SEED + 3)})`, function () {
  this.timeout(60_000);
  const BOUNDS = [0, 1, 16, 255, 256, 1024, 2048, 4096];

  it(`fed as the card feeds it (chained parts, and whatever follows them): only DecodeError, bounded, exact reassembly (seed ${hexSeed(SEED + 3)})`, () => {
    const rng = new Prng(SEED + 3);
    let chainsCompleted = 0;
    let errors = 0;
    for (let round = 0; round < 600 * ROUNDS; round++) {
      const maxBytes = rng.pick(BOUNDS);
      const asm = new ChainAssembler(maxBytes);
      // model of what the assembler must hold
      let head: string | undefined;
      let parts: Uint8Array[] = [];
      for (let step = 0; step < 25; step++) {
        const part = randomPart(rng);
        const chained = (part.cla & CLA_CHAINING_BIT) !== 0;
        if (!chained && !asm.inProgress) continue; // the applet only pushes chained parts or parts of a chain in progress
        const ctx = `round ${round} step ${step} (bound ${maxBytes}, part ${describePart(part)})`;
        const data = part.data ?? new Uint8Array(0);
        const size = parts.reduce((n, p) => n + p.length, 0) + data.length;
        const expectError =
          head !== undefined && head !== headKey(part)
            ? 'APDU_CHAIN_BROKEN'
            : size > maxBytes
              ? 'APDU_CHAIN_TOO_LONG'
              : undefined;
        let out;
        try {
          out = asm.push(part);
        } catch (e) {
          if (!(e instanceof DecodeError)) assert.fail(`${ctx}: non-DecodeError ${explain(e)}`);
          assert.equal(e.code, expectError, `${ctx}: threw ${e.code}`);
          assert.equal(asm.inProgress, false, `${ctx}: still in a chain after ${e.code}`);
          checkBound(asm, maxBytes, ctx);
          head = undefined;
          parts = [];
          errors++;
          continue;
        }
        assert.equal(expectError, undefined, `${ctx}: expected ${expectError}, got ${out.kind}`);
        checkBound(asm, maxBytes, ctx);
        if (chained) {
          assert.equal(out.kind, 'more', `${ctx}: a chained part must wait for more`);
          assert.equal(asm.inProgress, true, `${ctx}: not in progress after a chained part`);
          head ??= headKey(part);
          parts.push(data);
          continue;
        }
        assert.equal(out.kind, 'complete', `${ctx}: the last part must complete the chain`);
        if (out.kind !== 'complete') continue;
        const whole = concatBytes(...parts, data);
        assert.ok(
          out.command.data !== undefined && out.command.data.length <= maxBytes,
          `${ctx}: completed command over the bound`,
        );
        assert.equal(
          toHex(out.command.data ?? new Uint8Array(0)),
          toHex(whole),
          `${ctx}: reassembly differs from the parts`,
        );
        assert.equal(out.command.cla, part.cla & ~CLA_CHAINING_BIT, `${ctx}: CLA`);
        assert.deepStrictEqual(
          [out.command.ins, out.command.p1, out.command.p2, out.command.le],
          [part.ins, part.p1, part.p2, part.le],
          `${ctx}: header/Le`,
        );
        assert.equal(asm.inProgress, false, `${ctx}: still in progress after completing`);
        head = undefined;
        parts = [];
        chainsCompleted++;
      }
    }
    assert.ok(
      chainsCompleted > 100 && errors > 100,
      `completed ${chainsCompleted} chains, ${errors} errors: generator too weak`,
    );
  });

  it(`fed any sequence of parts: only DecodeError, never holds or returns more than its bound (seed ${hexSeed(SEED + 4)})`, () => {
    const rng = new Prng(SEED + 4);
    let pushes = 0;
    for (let round = 0; round < 600 * ROUNDS; round++) {
      const maxBytes = rng.pick(BOUNDS);
      const asm = new ChainAssembler(maxBytes);
      for (let step = 0; step < 25; step++) {
        const part = randomPart(rng);
        const ctx = `round ${round} step ${step} (bound ${maxBytes})`;
        if (rng.bool(0.03)) asm.reset();
        pushes++;
        try {
          const out = asm.push(part);
          if (out.kind === 'complete') {
            const n = out.command.data?.length ?? 0;
            assert.ok(n <= maxBytes, `${ctx}: completed a ${n}-byte command over the bound`);
          }
        } catch (e) {
          if (!(e instanceof DecodeError)) assert.fail(`${ctx}: non-DecodeError ${explain(e)}`);
          assert.ok(
            e.code === 'APDU_CHAIN_BROKEN' || e.code === 'APDU_CHAIN_TOO_LONG',
            `${ctx}: unexpected code ${e.code}`,
          );
        }
        checkBound(asm, maxBytes, ctx);
      }
    }
    assert.equal(pushes, 600 * ROUNDS * 25, 'every part was pushed');
  });

  // Regression test (this fuzzer found the bug; fixed): ChainAssembler.push() adds the data length of an
  // unchained command that arrives outside a chain to its running `size` but returns before resetting
  // it. The bytes leak into the next chain: new ChainAssembler(100); push 80 10 00 00 + 30 bytes
  // (complete); push 90 10 00 00 + 10 bytes (more); push 80 10 00 00 + 5 bytes → the reassembled
  // command carries 45 bytes (the 15 real ones and 30 zero bytes). Four such 30-byte commands in a row
  // also throw a spurious APDU_CHAIN_TOO_LONG. The applet never pushes unchained commands outside a
  // chain, so the card is not affected; any other user of the class is.
  it('an unchained command outside a chain leaves no trace in the next chain', () => {
    const asm = new ChainAssembler(100);
    const cmd = (cla: number, n: number): CommandApdu => ({
      cla,
      ins: 0x10,
      p1: 0,
      p2: 0,
      data: new Uint8Array(n).fill(0xaa),
    });
    const first = asm.push(cmd(0x80, 30));
    assert.equal(first.kind, 'complete', 'a lone command completes at once');
    assert.equal(asm.push(cmd(0x90, 10)).kind, 'more', 'first part of a chain');
    const last = asm.push(cmd(0x80, 5));
    assert.ok(
      last.kind === 'complete' && last.command.data?.length === 15,
      `reassembled ${last.kind === 'complete' ? last.command.data?.length : '?'} bytes instead of 15`,
    );
    const fresh = new ChainAssembler(100);
    for (let i = 0; i < 4; i++) {
      assert.doesNotThrow(() => fresh.push(cmd(0x80, 30)), `lone 30-byte command #${i + 1} refused`);
    }
  });
});

// ---------------------------------------------------------------- exchange()

const TRANSMIT_BOUND = 300;
/** The hostile transport gives up (throws Runaway) here, so a looping exchange() fails instead of hanging. */
const RUNAWAY = 5_000;

class Runaway extends Error {
  constructor() {
    super(`exchange() made more than ${RUNAWAY} transmits`);
    this.name = 'Runaway';
  }
}

type Hostility = 'random' | 'random-status' | 'endless-61-full' | 'endless-6c' | 'refuse-chain' | 'mixed';

function sw(code: number): Uint8Array {
  return Uint8Array.of(code >> 8, code & 0xff);
}

/** A transport answering as a broken or malicious card does; it checks what the host sends on the way. */
function hostileTransport(
  rng: Prng,
  mode: Hostility,
  shortChunks = false,
): ApduTransport & { calls: number; sent: Uint8Array[] } {
  const t = {
    calls: 0,
    sent: [] as Uint8Array[],
    async transmit(apdu: Uint8Array): Promise<Uint8Array> {
      t.calls++;
      if (t.calls > RUNAWAY) throw new Runaway();
      t.sent.push(apdu);
      const d = decodeOrError('decodeCommandApdu (host side)', apdu, decodeCommandApdu);
      if (d instanceof DecodeError) assert.fail(`exchange() sent a malformed APDU ${toHex(apdu)}: ${d.message}`);
      const m: Hostility =
        mode === 'mixed'
          ? rng.pick(['random', 'random-status', 'endless-61-full', 'endless-6c', 'refuse-chain'])
          : mode;
      switch (m) {
        case 'random':
          return rng.bytes(rng.bool(0.3) ? rng.int(3) : rng.int(300));
        case 'random-status': // plausible bodies with status words that drive the ISO machinery
          return concatBytes(
            rng.bytes(rng.int(rng.bool(0.8) ? 300 : 3)),
            sw(rng.pick([0x9000, 0x6100 | rng.int(256), 0x6c00 | rng.int(256), 0x6a80, 0x6883, rng.int(0x10000)])),
          );
        case 'endless-61-full': // a card streaming a never-ending response, full chunks every time
          return concatBytes(rng.bytes(shortChunks ? rng.int(4) : 256 + rng.int(40)), sw(0x6100 | rng.int(256)));
        case 'endless-6c':
          return concatBytes(rng.bytes(rng.int(20)), sw(0x6c00 | rng.int(256)));
        default: // refuse-chain: random status for every part
          return concatBytes(
            rng.bytes(rng.int(8)),
            sw(rng.pick([0x9000, 0x9000, 0x6883, 0x6700, 0x6100 | rng.int(256), rng.int(0x10000)])),
          );
      }
    },
  };
  return t;
}

function randomExchangeCommand(rng: Prng): CommandApdu {
  const cmd: CommandApdu = {
    cla: rng.pick([0x00, 0x01, 0x04, 0x0c, 0x40, 0x80, 0x84, 0xa0, 0xe0]),
    ins: rng.pick([0xa4, 0x10, 0x20, 0xb0, rng.int(0x100)]),
    p1: rng.int(256),
    p2: rng.int(256),
  };
  if (rng.bool(0.7)) cmd.data = rng.bytes(1 + rng.int(rng.bool(0.7) ? 255 : 3000));
  if (rng.bool(0.7)) cmd.le = rng.pick([1, 16, 256, 257, 4096, 65536, 1 + rng.int(65536)]);
  return cmd;
}

async function runExchange(
  rng: Prng,
  mode: Hostility,
  ctx: string,
  shortChunks = false,
): Promise<{ calls: number; outcome: 'resolved' | 'rejected' }> {
  const cmd = randomExchangeCommand(rng);
  const opts: ExchangeOptions = { extendedLength: rng.bool() };
  if (rng.bool(0.5)) opts.maxResponseBytes = rng.pick([1, 256, 4096, 65536]);
  if (rng.bool(0.3)) opts.chunkSize = rng.pick([200, 255]); // ≤ 16 parts for ≤ 3000 bytes
  const transport = hostileTransport(rng, mode, shortChunks);
  const what = `${ctx} mode ${mode}, command ${JSON.stringify({ ...cmd, data: cmd.data?.length })}, opts ${JSON.stringify(opts)}`;
  let outcome: 'resolved' | 'rejected';
  try {
    const r = await exchange(transport, cmd, opts);
    assert.ok(Number.isInteger(r.sw) && r.sw >= 0 && r.sw <= 0xffff, `${what}: sw ${r.sw}`);
    assert.ok(r.data instanceof Uint8Array, `${what}: data is not bytes`);
    outcome = 'resolved';
  } catch (e) {
    if (e instanceof Runaway) assert.fail(`${what}: ${e.message} — exchange() does not bound its GET RESPONSE loop`);
    if (!(e instanceof DecodeError)) assert.fail(`${what}: rejected with a non-DecodeError ${explain(e)}`);
    assert.ok(
      e.code === 'APDU_RESPONSE_SHORT' || e.code === 'APDU_RESPONSE_TOO_LONG',
      `${what}: unexpected code ${e.code}`,
    );
    outcome = 'rejected';
  }
  assert.ok(
    transport.calls <= TRANSMIT_BOUND,
    `${what}: ${transport.calls} transmits, over the bound ${TRANSMIT_BOUND}`,
  );
  return { calls: transport.calls, outcome };
}

describe(`fuzz: exchange() against hostile transports (seed ${hexSeed(SEED + 5)})`, function () {
  this.timeout(60_000);

  it(`random answers, endless full 61xx, endless 6Cxx, refused chains: settles with a result or DecodeError within ${TRANSMIT_BOUND} transmits (seed ${hexSeed(SEED + 5)})`, async () => {
    const rng = new Prng(SEED + 5);
    const tally = { resolved: 0, rejected: 0 };
    let maxCalls = 0;
    const modes: Hostility[] = ['random', 'random-status', 'endless-61-full', 'endless-6c', 'refuse-chain', 'mixed'];
    for (let i = 0; i < 1_500 * ROUNDS; i++) {
      const mode = modes[i % modes.length]!;
      const { calls, outcome } = await runExchange(rng, mode, `case ${i}`);
      tally[outcome]++;
      maxCalls = Math.max(maxCalls, calls);
    }
    assert.ok(
      tally.resolved > 100 && tally.rejected > 100,
      `resolved ${tally.resolved}, rejected ${tally.rejected}: generator too weak`,
    );
    assert.ok(maxCalls > 100, `longest exchange only ${maxCalls} transmits: the 61xx loop was not exercised`);
  });

  // Regression test (this fuzzer found the bug; fixed): exchange() bounds its 61xx / GET RESPONSE loop only by
  // the number of response BYTES (maxResponseBytes, default 65536). A card answering "61 10" with no
  // data keeps the host looping forever (the total never grows: a hang), and one answering 1 byte + 61xx
  // costs 65536 round trips before APDU_RESPONSE_TOO_LONG. Reproduction:
  //   exchange({ transmit: async () => Uint8Array.of(0x61, 0x10) }, { cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 16 }, { extendedLength: false })
  // never settles. The loop needs a bound on rounds too (e.g. maxResponseBytes / 1 + a few, or a fixed cap).
  it('endless 61xx carrying few or no data bytes: settles within the transmit bound', async () => {
    const rng = new Prng(SEED + 6);
    for (let i = 0; i < 20; i++) await runExchange(rng, 'endless-61-full', `case ${i}`, true);
  });

  it('endless 6Cxx is retried a bounded number of times, and the last answer returned', async () => {
    let calls = 0;
    const t: ApduTransport = {
      async transmit() {
        calls++;
        if (calls > RUNAWAY) throw new Runaway();
        return sw(0x6c05);
      },
    };
    const r = await exchange(t, { cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 1 }, { extendedLength: false });
    assert.equal(r.sw, 0x6c05, 'the last 6Cxx is handed to the caller');
    assert.ok(calls <= 3, `${calls} transmits for a card that always answers 6Cxx`);
  });

  it('a reassembled 61xx response is exactly the concatenation of the chunks', async () => {
    const rng = new Prng(SEED + 7);
    for (let i = 0; i < 200; i++) {
      const chunks = Array.from({ length: 1 + rng.int(6) }, () => rng.bytes(rng.int(257)));
      let k = 0;
      const t: ApduTransport = {
        async transmit() {
          const c = chunks[k++];
          if (c === undefined) return assert.fail('exchange() asked for more than the card announced');
          return concatBytes(c, sw(k < chunks.length ? 0x6100 | rng.int(256) : 0x9000));
        },
      };
      const r = await exchange(t, { cla: 0x80, ins: 0x10, p1: 0, p2: 0, le: 256 }, { extendedLength: false });
      assert.equal(r.sw, 0x9000, `case ${i}: final status`);
      assert.ok(bytesEqual(r.data, concatBytes(...chunks)), `case ${i}: reassembled response differs`);
    }
  });
});
