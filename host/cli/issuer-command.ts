import { Command, Option } from 'commander';
import { toHex } from '../../protocol/bytes.js';
import type { SignatureAlgorithm } from '../../protocol/crypto/index.js';
import { initIssuerDir, issueTerminal, openIssuerDir } from '../issuer/issuer-dir.js';
import type { CliIo } from './crypto-command.js';

export function issuerCommand(io: CliIo): Command {
  const issuer = new Command('issuer').description('issuer CA tooling: make an issuer, certify terminals');

  issuer
    .command('init')
    .description('create an issuer CA and a top-up authority in DIR')
    .requiredOption('--dir <dir>', 'directory to create (keys are written with mode 0600)')
    .addOption(
      new Option('--algorithm <alg>', 'signature suite').choices(['sm2-sm3', 'ecdsa-p256-sha256']).default('sm2-sm3'),
    )
    .option('--name <name>', 'issuer name in its certificate', 'cardpost issuer CA')
    .action((opts: { dir: string; algorithm: SignatureAlgorithm; name: string }) => {
      const m = initIssuerDir(opts.dir, { algorithm: opts.algorithm, name: opts.name });
      io.out(
        `issuer created in ${opts.dir}: CA key id ${toHex(m.authority.certificate.issuerKeyId)} (${opts.algorithm})`,
      );
      io.out(`trust anchor for hosts and banks: ${opts.dir}/ca.cert`);
    });

  issuer
    .command('terminal')
    .description('issue a terminal key and certificate (the terminal signs its settlement batches)')
    .requiredOption('--dir <dir>', 'issuer directory')
    .requiredOption('--id <terminalId>', 'terminal id, 1..32 characters')
    .requiredOption('--out <dir>', 'where to write terminal.key, terminal.cert and ca.cert')
    .action((opts: { dir: string; id: string; out: string }) => {
      issueTerminal(openIssuerDir(opts.dir), opts.id, opts.out);
      io.out(`terminal ${opts.id}: ${opts.out}/terminal.key, ${opts.out}/terminal.cert`);
    });

  return issuer;
}
