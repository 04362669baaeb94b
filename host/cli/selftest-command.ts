import { Command } from 'commander';
import { bytesEqual, fromHex, toHex } from '../../protocol/bytes.js';
import { buildMap, decodeCanonical, encodeCanonical } from '../../protocol/cbor/index.js';
import {
  generateKeyPair,
  sign,
  sm2Backend,
  sm2PublicFromPrivate,
  sm2Sign,
  sm2Verify,
  sm3,
  sm4Encrypt,
  verify,
} from '../../protocol/crypto/index.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './crypto-command.js';

/**
 * Known-answer tests of the card cryptography on this machine (like a FIPS power-on self test):
 * the published GB/T vectors for SM3, SM4 and SM2 with a fixed k, sign/verify round trips of both
 * suites, and canonical CBOR. Run before trusting a new machine or a new native build.
 */
interface Check {
  name: string;
  run: () => boolean;
}

const enc = new TextEncoder();

const CHECKS: Check[] = [
  {
    name: 'SM3 "abc" (GB/T 32905 A.1)',
    run: () => toHex(sm3(enc.encode('abc'))) === '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
  },
  {
    name: 'SM4 example 1 (GB/T 32907 A.1)',
    run: () =>
      toHex(
        sm4Encrypt(fromHex('0123456789abcdeffedcba9876543210'), fromHex('0123456789abcdeffedcba9876543210'), {
          mode: 'ecb',
        }),
      ) === '681edf34d206965e86b3e94f536e4246',
  },
  {
    name: 'SM2 sign, fixed k (GB/T 32918.5 A)',
    run: () => {
      const d = fromHex('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8');
      const pub = sm2PublicFromPrivate(d);
      const sig = sm2Sign(d, enc.encode('message digest'), {
        testK: BigInt('0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21'),
      });
      return (
        toHex(pub).toUpperCase() ===
          '0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13' &&
        toHex(sig).toUpperCase() ===
          'F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA' &&
        sm2Verify(pub, enc.encode('message digest'), sig) &&
        !sm2Verify(pub, enc.encode('message digesT'), sig)
      );
    },
  },
  ...(['sm2-sm3', 'ecdsa-p256-sha256'] as const).map((alg) => ({
    name: `${alg} sign/verify round trip`,
    run: () => {
      const k = generateKeyPair(alg);
      const msg = enc.encode('cardpost selftest');
      const sig = sign(alg, k.privateKey, msg);
      return verify(alg, k.publicKey, msg, sig) && !verify(alg, k.publicKey, enc.encode('cardpost selftesT'), sig);
    },
  })),
  {
    name: 'canonical CBOR (RFC 8949 §4.2.1 key order)',
    run: () => {
      const bytes = encodeCanonical(
        buildMap([
          ['aa', 1],
          [100, 2],
          [-1, 3],
          [10, 4],
        ]),
      );
      return toHex(bytes) === 'a40a04186402200362616101' && bytesEqual(encodeCanonical(decodeCanonical(bytes)), bytes);
    },
  },
];

export function selftestCommand(io: CliIo): Command {
  return new Command('selftest')
    .description('known-answer tests of SM2/SM3/SM4, P-256 and canonical CBOR on this machine')
    .option('--json', 'machine-readable result')
    .action((opts: { json?: boolean }) => {
      const results = CHECKS.map((c) => {
        let ok = false;
        try {
          ok = c.run();
        } catch {
          ok = false;
        }
        return { name: c.name, ok };
      });
      const failed = results.filter((r) => !r.ok).length;
      if (opts.json) {
        io.out(JSON.stringify({ sm2Backend: sm2Backend(), results, ok: failed === 0 }));
      } else {
        for (const r of results) io.out(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name}`);
        io.out(
          `SM2 backend: ${sm2Backend() === 'native' ? 'native (C, dedicated curve arithmetic)' : 'pure JavaScript (the native addon is not built: run npm rebuild)'}`,
        );
        io.out(
          failed === 0
            ? 'all self-tests passed'
            : `${failed} self-test(s) FAILED: do not use this machine for payments`,
        );
      }
      io.setExitCode(failed === 0 ? EXIT.OK : EXIT.NEGATIVE);
    });
}
