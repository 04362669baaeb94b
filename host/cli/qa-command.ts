import { Command, Option } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
// Simulator wiring (test/unit/layering.test.ts lists this file): the QA runner lives in device-sim/qa.
import { QA_EXIT, runQa } from '../../device-sim/qa/run.js';
import type { CliIo } from './crypto-command.js';
import { qaHost } from './qa-host.js';
import { qaSoakCommand } from './qa-soak-command.js';
import { qaDaemonCommand } from './qa-daemon-command.js';

/**
 * `cardpost qa`: `qa run <files…>` runs scenario files on the real stack and writes the reports
 * (docs/qa.md); `qa soak` (qa-soak-command.ts) runs random sales and faults for a while.
 */

function parseSeed(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffff_ffff)
    throw new CardpostError(
      'CLI_SEED',
      `--seed "${text}" is not a seed`,
      'give a whole number from 0 to 4294967295 (the seed a report shows)',
    );
  return Number(text);
}

interface RunOpts {
  seed?: number;
  out: string;
  keep?: boolean;
}

export function qaCommand(io: CliIo): Command {
  const qa = new Command('qa').description(
    'QA on the real stack: run scenario files and write their reports, or soak the daemon (docs/qa.md)',
  );
  qa.command('run')
    .description(
      'run scenario files on the real stack (pcscd/vpcd, socat, the bank, the daemon) and write JUnit, JSON and HTML reports; exit 0 all passed, 1 a scenario failed, 2 bad input or the run could not be done',
    )
    .argument('<files...>', 'scenario files (.yaml, .yml, .json), or directories of them')
    .addOption(
      new Option('--seed <n>', "replace every scenario's seed (replay a run: the report shows the seed)").argParser(
        parseSeed,
      ),
    )
    .option('--out <dir>', 'the directory the reports are written to', './qa-report')
    .option('--keep', "keep each stack's temporary directory (daemon data and logs) after the run")
    .action(async (files: string[], opts: RunOpts) => {
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stop.signal.aborted) process.exit(QA_EXIT.NOT_RUN); // a second signal: at once (the reaper cleans up)
        io.out(
          `${signal}: stopping the current step, closing the stack, writing the reports (${signal} again to quit at once)`,
        );
        stop.abort(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const outcome = await runQa({
          args: files,
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          outDir: opts.out,
          keep: opts.keep === true,
          host: qaHost(),
          out: io.out,
          colour: process.stdout.isTTY === true && !process.env.NO_COLOR,
          signal: stop.signal,
        });
        io.setExitCode(outcome.exitCode);
      } catch (e) {
        // An invalid scenario file, or a runner that cannot be set up (no /proc, the reaper missing): the run
        // could not be done, exit 2 as docs/qa.md §9 says, whatever the code's kind says elsewhere.
        if (!(e instanceof CardpostError)) throw e;
        process.stderr.write(`cardpost: ${e.code}: ${e.message}\n  ${e.hint}\n`);
        io.setExitCode(QA_EXIT.NOT_RUN);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  qa.addCommand(qaSoakCommand(io));
  qa.addCommand(qaDaemonCommand(io), { hidden: true }); // the in-process readers' daemon (stack/daemon-process.ts)
  return qa;
}
