import { Command, Option } from 'commander';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { EncodeError } from '../../protocol/errors.js';
import {
  sm2GenerateKeyPair,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
  sm3,
  sm4Decrypt,
  sm4Encrypt,
  SM2_DEFAULT_USER_ID,
} from '../../protocol/crypto/index.js';
import { EXIT } from './exit-codes.js';
import type { Lang } from './lang-choice.js';

/** Output sink, so tests can run the commands in-process. */
export interface CliIo {
  out(line: string): void;
  setExitCode(code: number): void;
  /** The language of a merchant's messages: set from --lang once the command line is parsed (cli-lang.ts). */
  lang?: Lang;
}

function hexArg(name: string, value: string | undefined, length?: number): Uint8Array {
  if (value === undefined) throw new EncodeError('CLI_MISSING', `${name} is required`, `pass ${name} HEX`);
  const bytes = fromHex(value);
  if (length !== undefined && bytes.length !== length) {
    throw new EncodeError(
      'CLI_LENGTH',
      `${name} must be ${length} bytes (${length * 2} hex digits), got ${bytes.length}`,
      `check ${name}`,
    );
  }
  return bytes;
}

interface MessageOpts {
  msg?: string;
  digest?: string;
  id?: string;
}

/** Exactly one of --msg / --digest; --id only goes with --msg (a digest already includes Z_A). */
function messageOrDigest(opts: MessageOpts): { msg: Uint8Array; id: string } | { digest: Uint8Array } {
  if ((opts.msg === undefined) === (opts.digest === undefined)) {
    throw new EncodeError(
      'CLI_USAGE',
      'give exactly one of --msg HEX or --digest HEX',
      'a digest is SM3(Z_A || M), 32 bytes',
    );
  }
  if (opts.digest !== undefined) {
    if (opts.id !== undefined)
      throw new EncodeError('CLI_USAGE', '--id applies to --msg only', 'the digest already includes Z_A');
    return { digest: hexArg('--digest', opts.digest, 32) };
  }
  return { msg: hexArg('--msg', opts.msg), id: opts.id ?? SM2_DEFAULT_USER_ID };
}

export function cryptoCommand(io: CliIo): Command {
  const cmd = new Command('crypto').description(
    'SM2/SM3/SM4 primitives, hex in and hex out (for firmware and QA engineers)',
  );

  cmd
    .command('sm3')
    .description('SM3 digest of HEX')
    .argument('<hex>', 'message bytes as hex ("" for the empty message)')
    .action((h: string) => {
      io.out(toHex(sm3(fromHex(h))));
    });

  cmd
    .command('sm2-keygen')
    .description('new SM2 key pair as JSON {"private":HEX,"public":"04…"}')
    .action(() => {
      const kp = sm2GenerateKeyPair();
      io.out(JSON.stringify({ private: toHex(kp.privateKey), public: toHex(kp.publicKey) }));
    });

  cmd
    .command('sm2-sign')
    .description('SM2 signature (GM/T 0003.2, SM3 with Z_A) as raw r||s hex')
    .requiredOption('--key <hex>', 'private key, 32 bytes')
    .option('--msg <hex>', 'message; Z_A is computed with --id')
    .option('--id <text>', `signer user id (default ${SM2_DEFAULT_USER_ID})`)
    .option('--digest <hex>', 'pre-computed e = SM3(Z_A || M), 32 bytes')
    .action((opts: MessageOpts & { key: string }) => {
      const key = hexArg('--key', opts.key, 32);
      const input = messageOrDigest(opts);
      const sig = 'digest' in input ? sm2SignDigest(key, input.digest) : sm2Sign(key, input.msg, { userId: input.id });
      io.out(toHex(sig));
    });

  cmd
    .command('sm2-verify')
    .description('verify an SM2 signature; exit 0 if valid, 1 if not')
    .requiredOption('--key <hex>', 'public key, 65 bytes 04||x||y')
    .option('--msg <hex>', 'message; Z_A is computed with --id')
    .option('--id <text>', `signer user id (default ${SM2_DEFAULT_USER_ID})`)
    .option('--digest <hex>', 'pre-computed e = SM3(Z_A || M), 32 bytes')
    .requiredOption('--sig <hex>', 'signature: raw r||s (64 bytes) or DER')
    .action((opts: MessageOpts & { key: string; sig: string }) => {
      const key = hexArg('--key', opts.key, 65);
      const sig = hexArg('--sig', opts.sig);
      const input = messageOrDigest(opts);
      const ok =
        'digest' in input
          ? sm2VerifyDigest(key, input.digest, sig)
          : sm2Verify(key, input.msg, sig, { userId: input.id });
      io.out(ok ? 'valid' : 'invalid');
      io.setExitCode(ok ? EXIT.OK : EXIT.NEGATIVE);
    });

  for (const dir of ['encrypt', 'decrypt'] as const) {
    cmd
      .command(`sm4-${dir}`)
      .description(`SM4 ${dir} HEX`)
      .requiredOption('--key <hex>', 'key, 16 bytes')
      .addOption(new Option('--mode <mode>', 'block mode').choices(['ecb', 'cbc']).default('ecb'))
      .option('--iv <hex>', 'IV for cbc, 16 bytes')
      .addOption(
        new Option('--padding <padding>', 'none needs whole 16-byte blocks').choices(['none', 'pkcs7']).default('none'),
      )
      .argument('<hex>', 'input bytes')
      .action((h: string, opts: { key: string; mode: 'ecb' | 'cbc'; iv?: string; padding: 'none' | 'pkcs7' }) => {
        const key = hexArg('--key', opts.key, 16);
        if (opts.mode === 'cbc' && opts.iv === undefined)
          throw new EncodeError('CLI_USAGE', '--mode cbc needs --iv HEX (16 bytes)', 'pass --iv');
        if (opts.mode === 'ecb' && opts.iv !== undefined)
          throw new EncodeError('CLI_USAGE', '--iv only applies to --mode cbc', 'drop --iv or use --mode cbc');
        const options = {
          mode: opts.mode,
          padding: opts.padding,
          ...(opts.iv !== undefined ? { iv: hexArg('--iv', opts.iv, 16) } : {}),
        };
        const data = fromHex(h);
        io.out(toHex(dir === 'encrypt' ? sm4Encrypt(key, data, options) : sm4Decrypt(key, data, options)));
      });
  }
  return cmd;
}
