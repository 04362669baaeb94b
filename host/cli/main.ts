import { Command, CommanderError } from 'commander';
import { CardpostError, CryptoError, DecodeError, EncodeError } from '../../protocol/errors.js';
import { cryptoCommand, type CliIo } from './crypto-command.js';
import { issuerCommand } from './issuer-command.js';
import { cardCommand } from './card-command.js';
import { selftestCommand } from './selftest-command.js';
import { simCommand } from './sim-command.js';
import { daemonCommand } from './daemon-command.js';
import { demoCommand } from './demo-command.js';
import { counterCommands } from './counter-commands.js';
import { EXIT } from './exit-codes.js';
import { ApiError } from './api-client.js';

/** Build the whole command tree; kept separate from process handling so tests can drive it in-process. */
export function buildProgram(io: CliIo, err: (line: string) => void = (l) => process.stderr.write(l + '\n')): Command {
  const program = new Command('cardpost')
    .description('Offline smart-card payments at the shop counter')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)');
  program.addCommand(demoCommand(io));
  program.addCommand(daemonCommand(io));
  for (const c of counterCommands(io)) program.addCommand(c);
  program.addCommand(cryptoCommand(io));
  program.addCommand(selftestCommand(io));
  program.addCommand(issuerCommand(io));
  program.addCommand(cardCommand(io));
  program.addCommand(simCommand(io));
  // Every (sub)command: bad usage exits 2 like our other "bad input" errors, and output goes to our sinks.
  const configure = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => err(s.replace(/\n$/, '')) });
    c.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Run argv; returns the exit code instead of exiting. Errors become one clear line on stderr. */
export async function runCli(argv: string[], io: CliIo, err: (line: string) => void): Promise<number> {
  let code: number = EXIT.OK;
  const wrapped: CliIo = { out: io.out, setExitCode: (c) => { code = c; io.setExitCode(c); } };
  const program = buildProgram(wrapped, err);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and --version end through here with exit code 0
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof ApiError) {
      err(`cardpost: ${e.describe()}`);
      // The daemon's answer: 400 is our bad input, another 4xx a refusal ("no"), 401 and 5xx unavailable.
      return e.status === 400 ? EXIT.USAGE : e.status === 401 || e.status >= 500 ? EXIT.UNAVAILABLE : EXIT.NEGATIVE;
    }
    if (e instanceof CardpostError) {
      err(`cardpost: ${e.describe()}`);
      // Bad input (ours or the crypto's: bad padding, a key off the curve) is 2; the machine failing is 3.
      // A foreign file where the daemon's lock goes is the operator's to move, like a bad config: 2 too.
      const badInput = e.code.startsWith('CLI_') || e.code.startsWith('HEX_') || e.code.startsWith('CONFIG_') || e.code === 'DAEMON_LOCK_FOREIGN'
        || e instanceof EncodeError || e instanceof DecodeError || (e instanceof CryptoError && e.code !== 'RANDOM_FAILED');
      return badInput ? EXIT.USAGE : EXIT.UNAVAILABLE;
    }
    err(`cardpost: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.UNAVAILABLE;
  }
}

/** The process entry point used by bin/cardpost.mjs. */
export async function main(argv: string[]): Promise<void> {
  const code = await runCli(argv, {
    out: (l) => process.stdout.write(l + '\n'),
    setExitCode: () => {},
  }, (l) => process.stderr.write(l + '\n'));
  // Native libraries (pcsclite's monitoring thread) can keep the loop alive after a command is done:
  // exit once our output is flushed. Long-running commands (sim, daemon) only return when stopped.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
