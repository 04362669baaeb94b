import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { DecodeError } from '../../protocol/errors.js';
import {
  CborTagged,
  MapReader,
  decodeCanonical,
  encodeCanonical,
  type CborKey,
  type CborMap,
  type CborValue,
} from '../../protocol/cbor/index.js';
import { Prng } from '../support/prng.js';
import { ROOT, buildC, runC } from '../support/cc.js';

/**
 * The firmware's canonical CBOR (firmware-bindings/core/src/cp_cbor*.c) against the TypeScript
 * codec: the same bytes must get the same verdict — accepted and re-encoded byte-identical, or
 * refused with the same error code at the same byte — and the C MapReader must accept and refuse
 * exactly what protocol/cbor/reader.ts does.
 */

const CORE = 'firmware-bindings/core';
const SOURCES = [
  'test/firmware/c/cbor_driver.c',
  `${CORE}/src/cp_cbor_check.c`,
  `${CORE}/src/cp_cbor_scalar.c`,
  `${CORE}/src/cp_cbor_read.c`,
  `${CORE}/src/cp_cbor_map.c`,
  `${CORE}/src/cp_cbor_write.c`,
];

function driver(sanitize = false): string {
  return buildC({
    name: sanitize ? 'cbor-driver-asan' : 'cbor-driver',
    sources: SOURCES,
    includes: [`${CORE}/include`],
    flags: sanitize ? ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-O1'] : [],
  });
}

/** Runs driver commands, one answer line per command. */
function ask(exe: string, lines: string[]): string[] {
  const r = runC(exe, [], lines.join('\n') + '\n');
  assert.equal(r.status, 0, `driver exited ${r.status}: ${r.stderr}${r.stdout.slice(-2000)}`);
  const out = r.stdout.split('\n').filter((l) => l.length > 0);
  assert.equal(out.length, lines.length, 'one answer per command');
  return out;
}

/** The TS verdict in the driver's format: "CODE at [reencoded]". */
function tsVerdict(bytes: Uint8Array): string {
  try {
    decodeCanonical(bytes);
    return `CBOR_OK 0 ${toHex(bytes)}`.trimEnd();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    const at = /\(at byte (\d+)\)/.exec(e.message) ?? /ends at byte (\d+)/.exec(e.message);
    return `${e.code} ${at ? at[1] : 0}`;
  }
}

function compareAll(exe: string, inputs: Uint8Array[]): { accepted: number; rejected: number } {
  const answers = ask(
    exe,
    inputs.map((b) => `C ${toHex(b)}`),
  );
  let accepted = 0;
  inputs.forEach((b, i) => {
    const want = tsVerdict(b);
    assert.equal(answers[i], want, `input ${toHex(b).slice(0, 200)}`);
    if (want.startsWith('CBOR_OK')) accepted++;
  });
  return { accepted, rejected: inputs.length - accepted };
}

/** Every even-length hex literal in the TS codec's own unit tests (RFC 8949 Appendix A and the rest). */
function vectorsFromUnitTests(): Uint8Array[] {
  const text = readFileSync(join(ROOT, 'test/unit/cbor.test.ts'), 'utf8');
  const seen = new Set<string>();
  for (const m of text.matchAll(/'([0-9a-f]{2,})'/g)) if (m[1]!.length % 2 === 0) seen.add(m[1]!);
  return [...seen].map((h) => fromHex(h));
}

const FLOATS = [
  0.5,
  1.5,
  -2.5,
  65504.5,
  1.1,
  1e300,
  -1e-300,
  5e-324,
  2 ** -24,
  2 ** -25,
  2 ** 53,
  2 ** 64,
  3.4028234663852886e38,
  NaN,
  Infinity,
  -Infinity,
  0.1,
  1 / 3,
  2 ** -14,
  2 ** -149,
  2 ** -126,
  65520,
  100000.5,
];

function randomText(rng: Prng): string {
  const pieces: string[] = [];
  const n = rng.int(8);
  for (let i = 0; i < n; i++) {
    const kind = rng.int(5);
    const cp =
      kind === 0
        ? rng.range(0x20, 0x7e)
        : kind === 1
          ? rng.range(0x80, 0x7ff)
          : kind === 2
            ? rng.range(0x800, 0xd7ff)
            : kind === 3
              ? rng.range(0xe000, 0xffff)
              : rng.range(0x10000, 0x10ffff);
    pieces.push(String.fromCodePoint(cp));
  }
  return pieces.join('');
}

function randomInt(rng: Prng): number | bigint {
  switch (rng.int(6)) {
    case 0:
      return rng.int(30);
    case 1:
      return rng.pick([23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]);
    case 2:
      return -1 - rng.int(70000);
    case 3:
      return BigInt(rng.next()) * 2n ** 32n + BigInt(rng.next());
    case 4:
      return -1n - (BigInt(rng.next()) * 2n ** 32n + BigInt(rng.next()));
    default:
      return rng.next();
  }
}

function randomValue(rng: Prng, depth: number): CborValue {
  const k = rng.int(depth > 0 ? 12 : 8);
  switch (k) {
    case 0:
    case 1:
      return randomInt(rng);
    case 2:
      return rng.bytes(rng.bool(0.1) ? rng.int(400) : rng.int(30));
    case 3:
      return randomText(rng);
    case 4:
      return rng.pick(FLOATS);
    case 5:
      return rng.pick([true, false, null, undefined]);
    case 6:
      return rng.float() * 2 ** rng.range(-40, 40);
    case 7:
      return rng.pick([0, 1, -1, 23, -24, -25]);
    case 8:
    case 9:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth - 1));
    case 10: {
      const m: CborMap = new Map();
      const n = rng.int(6);
      for (let i = 0; i < n; i++) {
        const key: CborKey = rng.bool(0.6) ? randomInt(rng) : randomText(rng);
        m.set(
          typeof key === 'bigint' && key >= -(2n ** 53n) + 1n && key <= 2n ** 53n - 1n ? Number(key) : key,
          randomValue(rng, depth - 1),
        );
      }
      return m;
    }
    default:
      return new CborTagged(rng.pick([0, 1, 23, 24, 1000, 55799, 2 ** 40]), randomValue(rng, depth - 1));
  }
}

/** Damage valid bytes the way a lenient encoder or a bad line would. */
function mutate(rng: Prng, b: Uint8Array): Uint8Array {
  const out = [...b];
  const n = 1 + rng.int(3);
  for (let i = 0; i < n && out.length > 0; i++) {
    const pos = rng.int(out.length);
    switch (rng.int(7)) {
      case 0:
        out[pos] = rng.int(256);
        break;
      case 1:
        out[pos]! ^= 1 << rng.int(8);
        break;
      case 2:
        out.length = pos;
        break;
      case 3:
        out.splice(pos, 0, rng.int(256));
        break;
      case 4:
        out.push(rng.int(256));
        break;
      case 5: {
        // widen a small head (non-shortest form)
        const ib = out[pos]!;
        if ((ib & 0x1f) < 24 && ib >> 5 !== 7) out.splice(pos, 1, (ib & 0xe0) | 24, ib & 0x1f);
        break;
      }
      default: {
        // indefinite-length container head
        const major = out[pos]! >> 5;
        if (major >= 2 && major <= 5) out[pos] = (major << 5) | 31;
      }
    }
  }
  return Uint8Array.from(out);
}

describe('firmware C: canonical CBOR against the TypeScript codec', function () {
  this.timeout(180_000);
  let exe = '';
  before(() => {
    exe = driver();
  });

  it('gives the TS verdict (code and byte offset) on every vector of test/unit/cbor.test.ts', () => {
    const vectors = vectorsFromUnitTests();
    assert.ok(vectors.length > 100, `only ${vectors.length} vectors found`);
    const { accepted, rejected } = compareAll(exe, vectors);
    assert.ok(accepted > 50 && rejected > 30, `accepted ${accepted}, rejected ${rejected}`);
  });

  it('accepts and re-encodes byte-identical 3000 random values encoded by the TS encoder', () => {
    const rng = new Prng(0xc0de);
    const inputs = Array.from({ length: 3000 }, () => encodeCanonical(randomValue(rng, 5)));
    const { rejected } = compareAll(exe, inputs);
    assert.equal(rejected, 0);
  });

  it('refuses mutated encodings exactly as the TS decoder does (6000 cases)', () => {
    const rng = new Prng(0xbad);
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 4000; i++) inputs.push(mutate(rng, encodeCanonical(randomValue(rng, 4))));
    for (let i = 0; i < 2000; i++) inputs.push(rng.bytes(rng.int(12)));
    const { accepted, rejected } = compareAll(exe, inputs);
    assert.ok(rejected > 3000 && accepted > 200, `accepted ${accepted}, rejected ${rejected}`);
  });

  it('applies the depth limit of 16 and the count bounds before trusting a head', () => {
    const nest = (d: number) => fromHex('81'.repeat(d) + '00');
    const inputs = [
      nest(15),
      nest(16),
      nest(17),
      fromHex('a1'.repeat(16) + '00'.repeat(16)),
      fromHex('c1'.repeat(17) + '00'),
      fromHex('9b00000001000000000000'),
      fromHex('bb0020000000000000'),
      fromHex('5b0020000000000000'),
      fromHex('5a7fffffff00'),
      fromHex('a10101a0'),
      fromHex('a2010102'),
      fromHex('a2010101'),
      fromHex('a2020101'),
      fromHex('a1a00101'),
      fromHex('a1f401'),
      fromHex('a2613a01613a01'),
      fromHex(''),
      fromHex('ff'),
      fromHex('f817'),
      fromHex('62c0af'),
      fromHex('63eda080'),
      fromHex('64f4908080'),
      fromHex('f97e01'),
      fromHex('f9fe00'),
    ];
    const answers = ask(
      exe,
      inputs.map((b) => `C ${toHex(b)}`),
    );
    inputs.forEach((b, i) => assert.equal(answers[i], tsVerdict(b), toHex(b)));
    assert.match(answers[1]!, /^CBOR_OK/);
    assert.match(answers[2]!, /^CBOR_TOO_DEEP 16$/);
  });

  it('applies the item limit (65 536) and the size limit (1 MiB) as the TS decoder does', () => {
    const inputs = [
      fromHex('99ffff' + '00'.repeat(65535)), // 65 536 items: the limit
      fromHex('9a00010000' + '00'.repeat(65536)), // one more
      fromHex('82' + '99fffe' + '00'.repeat(65534) + '8100'), // the last item is one too many
      new Uint8Array(1 << 20)
        .fill(0x40)
        .fill(0x5a, 0, 1)
        .fill(0, 1, 2)
        .fill(0x0f, 2, 3)
        .fill(0xff, 3, 4)
        .fill(0xfb, 4, 5),
      new Uint8Array((1 << 20) + 1),
    ];
    const answers = ask(
      exe,
      inputs.map((b) => `C ${toHex(b)}`),
    );
    const codes = inputs.map((b, i) => {
      const want = tsVerdict(b);
      assert.equal(answers[i]!.slice(0, 200), want.slice(0, 200), `input ${i}`);
      return want.split(' ')[0];
    });
    assert.deepEqual(codes, ['CBOR_OK', 'CBOR_TOO_MANY_ITEMS', 'CBOR_TOO_MANY_ITEMS', 'CBOR_OK', 'CBOR_TOO_LARGE']);
  });
});

type Op = { kind: string; key: number; opt: boolean; a?: number; b?: number };

function tsRead(bytes: Uint8Array, ops: Op[]): string {
  try {
    const r = new MapReader(decodeCanonical(bytes), 'test');
    for (const op of ops) {
      const R = op.opt ? r.opt : r;
      const len = { minLength: op.a, maxLength: op.b };
      switch (op.kind) {
        case 'u':
          R.uint(op.key, { min: op.a, max: op.b });
          break;
        case 'U':
          R.uint64(op.key);
          break;
        case 'b':
          R.bytes(op.key, len);
          break;
        case 't':
          R.text(op.key, len);
          break;
        case 'B':
          R.bool(op.key);
          break;
        case 'a':
          R.array(op.key, len);
          break;
        case 'm':
          R.map(op.key);
          break;
        case 'd':
          r.done({ allowUnknown: op.key === 1 });
          return 'CBOR_OK';
      }
    }
    return 'CBOR_OK';
  } catch (e) {
    if (e instanceof DecodeError) return e.code;
    throw e;
  }
}

function opText(op: Op): string {
  if (op.kind === 'd') return `d${op.key}`;
  const range = op.a === undefined ? '' : `:${op.a}:${op.b ?? 'max'}`;
  return `${op.kind}${op.key}${op.opt ? '?' : ''}${range}`;
}

describe('firmware C: MapReader against protocol/cbor/reader.ts', function () {
  this.timeout(120_000);

  it('accepts and refuses like the TS MapReader (4000 random maps and field specs)', () => {
    const exe = driver();
    const rng = new Prng(0x5eed);
    const cases: { bytes: Uint8Array; ops: Op[] }[] = [];
    for (let i = 0; i < 4000; i++) {
      const m: CborMap = new Map();
      const n = rng.int(6);
      for (let j = 0; j < n; j++) {
        const key = rng.bool(0.9) ? rng.int(8) : rng.bool() ? -1 - rng.int(3) : 'k';
        const v = rng.pick<() => CborValue>([
          () => rng.int(300),
          () => rng.pick([2 ** 53, 2n ** 53n, 2n ** 60n, Number.MAX_SAFE_INTEGER, -5]),
          () => rng.bytes(rng.int(20)),
          () => randomText(rng),
          () => rng.bool(),
          () => Array.from({ length: rng.int(4) }, () => rng.int(5)),
          () => new Map<CborKey, CborValue>([[1, 2]]),
          () => null,
          () => 0.5,
        ])();
        m.set(key, v);
      }
      const top: CborValue = rng.bool(0.97) ? m : [1];
      const ops: Op[] = [];
      const nOps = rng.int(5);
      for (let j = 0; j < nOps; j++) {
        const kind = rng.pick(['u', 'U', 'b', 't', 'B', 'a', 'm']);
        const ranged = 'ubta'.includes(kind) && rng.bool(0.6);
        const a = ranged ? rng.int(12) : undefined;
        const b = ranged ? (rng.bool(0.2) ? undefined : a! + rng.int(200)) : undefined;
        const present = [...m.keys()].filter((k): k is number => typeof k === 'number' && k >= 0);
        const key = present.length > 0 && rng.bool(0.7) ? rng.pick(present) : rng.int(8);
        ops.push({ kind, key, opt: rng.bool(0.4), a, b });
      }
      if (rng.bool(0.8)) ops.push({ kind: 'd', key: rng.bool(0.2) ? 1 : 0, opt: false });
      cases.push({ bytes: encodeCanonical(top), ops });
    }
    const answers = ask(
      exe,
      cases.map((c) => `R ${toHex(c.bytes)} ${c.ops.map(opText).join(' ')}`),
    );
    let ok = 0;
    cases.forEach((c, i) => {
      const want = tsRead(c.bytes, c.ops);
      if (want === 'CBOR_OK') ok++;
      assert.equal(answers[i], want, `${toHex(c.bytes)} ${c.ops.map(opText).join(' ')}`);
    });
    assert.ok(ok > 400 && ok < 3600, `${ok} of 4000 accepted: the generator is lopsided`);
  });
});

describe('firmware C: CBOR fuzz under AddressSanitizer and UBSan', function () {
  this.timeout(300_000);

  it('never crashes or reads out of bounds on 300 000 mutated and random inputs', () => {
    const exe = driver(true);
    const [line] = ask(exe, ['F 20261206 300000']);
    const m = /^fuzz (\d+) (\d+)$/.exec(line!);
    assert.ok(m, line);
    assert.ok(Number(m[1]) > 10_000 && Number(m[2]) > 100_000, line);
  });
});
