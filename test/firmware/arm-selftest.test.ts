/**
 * The crypto and the NVM store as they run on the Cortex-M4 (build/firmware-arm/cardpost-selftest.elf,
 * 32-bit limbs, -Os, the 256 KB / 32 KB linker budget) under qemu-system-arm, driven frame by frame:
 *  - SM3 and SHA-256 against published vectors and node:crypto / the TypeScript SM3;
 *  - SM2 and P-256 signatures bit for bit with the published nonces (GB/T 32918 Annex A,
 *    RFC 6979 A.2.5), and randomized: the ARM signs, the TypeScript reference verifies, and back;
 *  - the store on the board's file-backed flash: random transactions against a model, with the power
 *    cut at random writes (QEMU ends; starting it again on the same file is the next power-on).
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  p256PublicFromPrivate,
  p256Sign,
  p256Verify,
  sm2PublicFromPrivate,
  sm2Sign,
  sm2Verify,
  sm3,
} from '../../protocol/crypto/index.js';
import { QEMU_SELFTEST_ELF, qemuArgs } from '../../firmware-bindings/arm/qemu-card.js';
import { FRAME, FRAME_STATUS, QEMU_EXIT, readU32, u16, u32 } from '../../firmware-bindings/arm/qemu-frames.js';
import { QemuExited, QemuLink } from '../../firmware-bindings/arm/qemu-link.js';
import { ROOT } from '../support/cc.js';
import { requireArmImages } from './arm-support.js';

const SM2 = 1;
const P256 = 2;
const CP_NOT_FOUND = 4;
const CP_CRYPTO_FAILED = 9;

interface Vector {
  name: string;
  algorithm: string;
  inputs: Record<string, string>;
  expected: Record<string, string>;
}
const vectors = JSON.parse(readFileSync(join(ROOT, 'test/vectors/sm2-sm3-sm4.json'), 'utf8')) as Vector[];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const cat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

function boot(flashFile: string, extra = ''): QemuLink {
  const append = `flash=${flashFile} seed=${randomBytes(32).toString('hex')} ${extra}`;
  return new QemuLink({ command: 'qemu-system-arm', args: qemuArgs(QEMU_SELFTEST_ELF, append), timeoutMs: 60_000 });
}

function ok(link: QemuLink, type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const a = link.request(type, payload);
  assert.equal(a.status, FRAME_STATUS.OK, `frame 0x${type.toString(16)}: status ${a.status} ${hex(a.payload)}`);
  return a.payload;
}

describe('ARM Cortex-M4 under QEMU: crypto self-test', function () {
  this.timeout(120_000);
  let dir: string;
  let link: QemuLink;
  before(function () {
    requireArmImages(this);
    dir = mkdtempSync(join(tmpdir(), 'cardpost-arm-st-'));
    link = boot(join(dir, 'flash.bin'));
  });
  after(() => {
    link?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('SM3: every SM3 vector of test/vectors, and random lengths against the TypeScript SM3', () => {
    const sm3Vectors = vectors.filter((v) => v.algorithm === 'SM3');
    assert.ok(sm3Vectors.length >= 4);
    for (const v of sm3Vectors) {
      const d = ok(link, FRAME.ST_DIGEST, cat(Uint8Array.of(SM2), bytes(v.inputs.message_hex!)));
      assert.equal(hex(d), v.expected.digest_hex!.toLowerCase(), v.name);
    }
    for (let len = 0; len < 300; len += 23) {
      const m = randomBytes(len);
      assert.equal(hex(ok(link, FRAME.ST_DIGEST, cat(Uint8Array.of(SM2), m))), hex(sm3(m)), `length ${len}`);
    }
  });

  it('SHA-256: FIPS 180 examples and random lengths against OpenSSL', () => {
    const fips: Array<[string, string]> = [
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      [
        'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
        '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
      ],
    ];
    for (const [m, d] of fips)
      assert.equal(hex(ok(link, FRAME.ST_DIGEST, cat(Uint8Array.of(P256), Buffer.from(m)))), d);
    for (let len = 1; len < 300; len += 37) {
      const m = randomBytes(len);
      const want = createHash('sha256').update(m).digest('hex');
      assert.equal(hex(ok(link, FRAME.ST_DIGEST, cat(Uint8Array.of(P256), m))), want, `length ${len}`);
    }
  });

  it('SM2: the GB/T 32918 recommended-curve vector bit for bit (public key, fixed-k signature, verification)', () => {
    const v = vectors.find((x) => x.algorithm.startsWith('SM2-sign') && x.inputs.curve === 'sm2p256v1')!;
    const d = bytes(v.inputs.private_key_hex!);
    const pub = ok(link, FRAME.ST_PUBLIC, cat(Uint8Array.of(SM2), d));
    assert.equal(hex(pub), v.expected.public_key_hex!.toLowerCase());
    const msg = bytes(v.inputs.message_hex!);
    const sig = ok(link, FRAME.ST_SIGN_K, cat(Uint8Array.of(SM2), d, bytes(v.inputs.k_hex!), pub, msg));
    assert.equal(hex(sig), v.expected.signature_raw_hex!.toLowerCase());
    assert.deepEqual(ok(link, FRAME.ST_VERIFY, cat(Uint8Array.of(SM2), pub, sig, msg)), Uint8Array.of(0));
    const bad = Uint8Array.from(msg);
    bad[0]! ^= 1;
    assert.deepEqual(
      ok(link, FRAME.ST_VERIFY, cat(Uint8Array.of(SM2), pub, sig, bad)),
      Uint8Array.of(CP_CRYPTO_FAILED),
    );
  });

  it('P-256: RFC 6979 A.2.5 public key and both signatures with the RFC nonces, bit for bit', () => {
    const d = bytes('C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721');
    const pub = ok(link, FRAME.ST_PUBLIC, cat(Uint8Array.of(P256), d));
    assert.equal(
      hex(pub),
      '0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299',
    );
    const cases = [
      {
        msg: 'sample',
        k: 'A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60',
        sig: 'EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8',
      },
      {
        msg: 'test',
        k: 'D16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0',
        sig: 'F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083',
      },
    ];
    for (const c of cases) {
      const m = Buffer.from(c.msg);
      const sig = ok(link, FRAME.ST_SIGN_K, cat(Uint8Array.of(P256), d, bytes(c.k), pub, m));
      assert.equal(hex(sig), c.sig.toLowerCase(), c.msg);
      assert.deepEqual(ok(link, FRAME.ST_VERIFY, cat(Uint8Array.of(P256), pub, sig, m)), Uint8Array.of(0));
    }
  });

  for (const [alg, name] of [
    [SM2, 'SM2'],
    [P256, 'P-256'],
  ] as const) {
    it(`${name} randomized: keys from the board's DRBG, ARM signs -> TypeScript verifies, and back; tampering fails`, () => {
      const pubOf = alg === SM2 ? sm2PublicFromPrivate : p256PublicFromPrivate;
      const tsSign = alg === SM2 ? sm2Sign : p256Sign;
      const tsVerify = alg === SM2 ? sm2Verify : p256Verify;
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const kp = ok(link, FRAME.ST_KEYGEN, Uint8Array.of(alg));
        const priv = kp.subarray(0, 32);
        const pub = kp.subarray(32, 97);
        seen.add(hex(priv));
        assert.equal(hex(pub), hex(pubOf(priv)), 'the public half the reference derives');
        const msg = randomBytes(1 + i * 40);
        const sig = ok(link, FRAME.ST_SIGN, cat(Uint8Array.of(alg), priv, pub, msg));
        assert.ok(tsVerify(pub, msg, sig), 'the reference accepts the ARM signature');
        const theirs = tsSign(priv, msg);
        assert.deepEqual(ok(link, FRAME.ST_VERIFY, cat(Uint8Array.of(alg), pub, theirs, msg)), Uint8Array.of(0));
        const tampered = Uint8Array.from(theirs);
        tampered[10]! ^= 0x40;
        assert.deepEqual(
          ok(link, FRAME.ST_VERIFY, cat(Uint8Array.of(alg), pub, tampered, msg)),
          Uint8Array.of(CP_CRYPTO_FAILED),
        );
      }
      assert.equal(seen.size, 6, 'the DRBG never repeats a key');
    });
  }
});

// ---------------------------------------------------------------------------------- the store

type Model = Map<number, string>; // key -> value hex (committed)

function put(link: QemuLink, key: number, value: Uint8Array): void {
  ok(link, FRAME.ST_PUT, cat(u16(key), value));
}

function readAll(link: QemuLink, keys: number[]): Model {
  const m: Model = new Map();
  for (const k of keys) {
    const a = link.request(FRAME.ST_GET, u16(k));
    if (a.status === FRAME_STATUS.OK) m.set(k, hex(a.payload));
    else assert.deepEqual([a.status, a.payload[0]], [FRAME_STATUS.RESULT, CP_NOT_FOUND], `key ${k}`);
  }
  return m;
}

function same(a: Model, b: Model): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

describe('ARM Cortex-M4 under QEMU: the NVM store on the file-backed flash', function () {
  this.timeout(300_000);
  let dir: string;
  before(function () {
    requireArmImages(this);
    dir = mkdtempSync(join(tmpdir(), 'cardpost-arm-store-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a blank flash mounts empty; committed values survive a restart, aborted and uncommitted ones do not', () => {
    const file = join(dir, 'basic.bin');
    let link = boot(file);
    try {
      const info = ok(link, FRAME.INFO);
      assert.deepEqual(
        [readU32(info, 4), readU32(info, 8), readU32(info, 12)],
        [4096, 16, 4],
        'page size, count, unit',
      );
      ok(link, FRAME.ST_MOUNT);
      assert.equal(readAll(link, [1, 2, 3]).size, 0);
      ok(link, FRAME.ST_BEGIN);
      put(link, 1, Buffer.from('one'));
      put(link, 2, new Uint8Array(1024).fill(0xa5));
      ok(link, FRAME.ST_COMMIT);
      ok(link, FRAME.ST_BEGIN);
      put(link, 3, Buffer.from('aborted'));
      ok(link, FRAME.ST_ABORT);
      ok(link, FRAME.ST_BEGIN);
      put(link, 1, Buffer.from('uncommitted'));
      // QEMU stops here: the open transaction was never committed.
    } finally {
      link.close();
    }
    link = boot(file);
    try {
      ok(link, FRAME.ST_MOUNT);
      const m = readAll(link, [1, 2, 3]);
      assert.equal(m.get(1), hex(Buffer.from('one')));
      assert.equal(m.get(2), 'a5'.repeat(1024));
      assert.equal(m.has(3), false);
    } finally {
      link.close();
    }
  });

  it('random transactions with the power cut at random writes (after or torn): always exactly before or after', () => {
    const file = join(dir, 'tear.bin');
    const keys = Array.from({ length: 12 }, (_, i) => 0x100 + i);
    let committed: Model = new Map();
    let link = boot(file);
    ok(link, FRAME.ST_MOUNT);
    let cuts = 0;
    let survived = 0;
    let rounds = 0;
    try {
      for (rounds = 0; rounds < 70; rounds++) {
        const next: Model = new Map(committed);
        const ops: Array<{ key: number; value?: Uint8Array }> = [];
        for (let i = 0, n = 1 + (rounds % 5); i < n; i++) {
          const key = keys[(rounds * 7 + i * 5) % keys.length]!;
          if ((rounds + i) % 6 === 5) ops.push({ key });
          else ops.push({ key, value: randomBytes(rounds % 9 === 0 ? 700 : (rounds * 13 + i) % 120) });
        }
        for (const o of ops) {
          if (o.value) next.set(o.key, hex(o.value));
          else next.delete(o.key);
        }
        const cutHere = rounds % 3 === 1;
        if (cutHere) {
          const n = 1 + (rounds % 6);
          ok(link, FRAME.CUT_AFTER, Uint8Array.of(...u32(n), rounds % 2));
        }
        try {
          ok(link, FRAME.ST_BEGIN);
          for (const o of ops) {
            if (o.value) put(link, o.key, o.value);
            else {
              const a = link.request(FRAME.ST_REMOVE, u16(o.key));
              assert.ok(
                a.status === FRAME_STATUS.OK || (a.status === FRAME_STATUS.RESULT && a.payload[0] === CP_NOT_FOUND),
                `remove: ${a.status} ${hex(a.payload)}`,
              );
            }
          }
          ok(link, FRAME.ST_COMMIT);
          committed = next;
          if (cutHere) {
            ok(link, FRAME.CUT_AFTER, Uint8Array.of(...u32(0), 0));
            survived++;
          }
        } catch (e) {
          assert.ok(e instanceof QemuExited, `not a power cut: ${String(e)}`);
          assert.equal(e.exitCode, QEMU_EXIT.POWER_CUT, e.message);
          cuts++;
          link = boot(file);
          ok(link, FRAME.ST_MOUNT);
          const now = readAll(link, keys);
          const isBefore = same(now, committed);
          const isAfter = same(now, next);
          assert.ok(isBefore || isAfter, `round ${rounds}: neither before nor after the transaction`);
          if (isAfter) committed = next;
          continue;
        }
        assert.ok(same(readAll(link, keys), committed), `round ${rounds}: the store equals the model`);
      }
    } finally {
      link.close();
    }
    assert.ok(cuts >= 10, `power cuts happened (${cuts}, ${survived} armed cuts outlived the transaction)`);
    // A clean restart at the end sees the final state.
    link = boot(file);
    try {
      ok(link, FRAME.ST_MOUNT);
      assert.ok(same(readAll(link, keys), committed), 'after the last restart');
      const writes = readU32(ok(link, FRAME.WRITE_COUNT));
      assert.ok(writes >= 0);
    } finally {
      link.close();
    }
  });

  it('the board refuses what it must: an unknown frame is answered, a bad command line ends QEMU with its status', () => {
    const link = boot(join(dir, 'refuse.bin'));
    try {
      assert.equal(link.request(0x7f).status, FRAME_STATUS.UNKNOWN);
      assert.equal(link.request(FRAME.ST_GET, u16(1)).status, FRAME_STATUS.NOT_POWERED, 'store not mounted');
    } finally {
      link.close();
    }
    const noSeed = new QemuLink({
      command: 'qemu-system-arm',
      args: qemuArgs(QEMU_SELFTEST_ELF, `flash=${join(dir, 'x.bin')}`),
    });
    try {
      assert.throws(
        () => noSeed.request(FRAME.INFO),
        (e: unknown) => e instanceof QemuExited && e.exitCode === QEMU_EXIT.BAD_FRAME,
        'no seed= on the command line: the firmware refuses to start (no built-in RNG seed)',
      );
    } finally {
      noSeed.close();
    }
  });
});
