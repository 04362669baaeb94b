import type { Command } from 'commander';
import { cryptoCommand, type CliIo } from './crypto-command.js';
import { issuerCommand } from './issuer-command.js';
import { cardCommand } from './card-command.js';
import { selftestCommand } from './selftest-command.js';
import { simCommand } from './sim-command.js';
import { qaCommand } from './qa-command.js';
import { bankCommand } from './bank-command.js';
import { daemonCommand } from './daemon-command.js';
import { demoCommand } from './demo-command.js';
import { counterCommands } from './counter-commands.js';
import { dayCommands } from './day-commands.js';
import { assembleProgram, launch, runProgram } from './launch.js';

/**
 * The whole command tree, every command module loaded: for tests and other in-process callers.
 * The process entry (bin/cardpost.mjs → launch.ts) loads only the modules a run needs; the order here
 * is COMMAND_MODULES' order there (test/unit/cli-build.test.ts compares the two helps).
 */
export function buildProgram(io: CliIo, err: (line: string) => void = (l) => process.stderr.write(l + '\n')): Command {
  return assembleProgram(
    [
      demoCommand(io),
      daemonCommand(io),
      ...counterCommands(io),
      ...dayCommands(io),
      cryptoCommand(io),
      selftestCommand(io),
      issuerCommand(io),
      cardCommand(io),
      simCommand(io),
      qaCommand(io),
      bankCommand(io),
    ],
    io,
    err,
  );
}

/** Run argv on the whole tree; returns the exit code instead of exiting. Errors become one clear line on stderr. */
export async function runCli(argv: string[], io: CliIo, err: (line: string) => void): Promise<number> {
  return runProgram(argv, io, err, (wrapped) => buildProgram(wrapped, err));
}

/** The process entry, as bin/cardpost.mjs calls it (there through launch.ts with the build's command index). */
export async function main(argv: string[]): Promise<void> {
  await launch(argv);
}
