import { randomInt } from 'node:crypto';
import { Command, Option } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
// Simulator wiring (as sim-command.ts; test/unit/layering.test.ts lists this file): the soak runs the QA stack.
import { cleanStaleRuns, RunRegistry } from '../../device-sim/qa/registry.js';
import { runSoak } from '../../device-sim/qa/soak/soak-run.js';
import { summaryLines } from '../../device-sim/qa/soak/soak-summary.js';
import {
  DEFAULT_READERS,
  FAULT_MODES,
  parseReaderMix,
  validateSoakOptions,
  type FaultMode,
  type SoakOptions,
} from '../../device-sim/qa/soak/soak-options.js';
import type { CliIo } from './crypto-command.js';
import { qaHost } from './qa-host.js';

/**
 * `qa soak`'s own exit codes (the issue's 0/1/2, as `qa run`): everything held; an invariant broke or a
 * sale ended in a way no fault explains; the soak could not run.
 */
export const SOAK_EXIT = { HELD: 0, BROKEN: 1, COULD_NOT_RUN: 2 } as const;

interface SoakArgs {
  minutes: string;
  seed?: string;
  cards: string;
  out: string;
  faults: string;
  readers: string;
}

const number = (flag: string, v: string): number => {
  if (!/^\d+(\.\d+)?$/.test(v))
    throw new CardpostError('QA_SOAK_OPTIONS_INVALID', `${flag} ${v}: not a number`, `e.g. ${flag} 4`);
  return Number(v);
};

export function parseSoakArgs(a: SoakArgs): SoakOptions {
  return validateSoakOptions({
    minutes: number('--minutes', a.minutes),
    // No seed given: a fresh one, printed in the summary so the run can be replayed.
    seed: a.seed === undefined ? randomInt(0, 0xffff_ffff) : number('--seed', a.seed),
    cards: number('--cards', a.cards),
    out: a.out,
    faults: a.faults as FaultMode,
    readers: parseReaderMix(a.readers),
  });
}

/**
 * `cardpost qa soak --minutes N`: random sales and faults across several cards and readers against the
 * daemon, the money invariants checked all along; a summary printed and written to DIR/soak.json.
 */
export function qaSoakCommand(io: CliIo): Command {
  return new Command('soak')
    .description(
      'random sales and faults (card pulled mid-sign, line noise, bank down/slow/answers cut, daemon kill -9) on one QA stack, checking that no signed record is lost or doubled and every balance adds up; exit 0 held, 1 an invariant broke or a sale ended in a way no fault explains, 2 could not run',
    )
    .requiredOption('--minutes <n>', 'how long to draw sales and faults (decimals allowed: 0.5)')
    .option('--seed <n>', 'seed of every random choice (a failing run replays with the same seed); default: a new one')
    .option('--cards <n>', 'how many simulated cards (1–8; at least one per reader)', '4')
    .option('--out <dir>', 'where soak.json is written', 'qa-soak')
    .addOption(
      new Option('--faults <mode>', 'how often and how hard faults come').choices(FAULT_MODES).default('light'),
    )
    .option(
      '--readers <media>',
      'the reader mix, one medium per reader, comma-separated (pcsc needs pcscd with vpcd; e.g. serial,hid runs without it)',
      DEFAULT_READERS.join(','),
    )
    .action(async (a: SoakArgs) => {
      let opts: SoakOptions;
      try {
        opts = parseSoakArgs(a);
      } catch (e) {
        const ce = e as CardpostError;
        io.out(`cardpost qa soak: ${ce.code}: ${ce.message} — ${ce.hint}`);
        io.setExitCode(SOAK_EXIT.COULD_NOT_RUN);
        return;
      }
      const stop = new AbortController();
      // SIGINT or SIGTERM: stop, settle and check what ran, write soak.json; a second signal exits at once
      // (the reaper cleans up: security.md Q5).
      const onSigint = (sig: NodeJS.Signals) => {
        if (stop.signal.aborted) process.exit(2);
        io.out(`qa soak: stopping (${sig}): settling and checking what ran…`);
        stop.abort();
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      await cleanStaleRuns().catch(() => undefined);
      const registry = await RunRegistry.open();
      try {
        io.out(
          `qa soak: ${opts.minutes} min, seed ${opts.seed}, ${opts.cards} cards, readers ${opts.readers.join(',')}, faults ${opts.faults}`,
        );
        const summary = await runSoak(opts, {
          host: qaHost(),
          registry,
          progress: (line) => io.out(line),
          signal: stop.signal,
        });
        for (const line of summaryLines(summary)) io.out(line);
        io.out(`qa soak: summary written to ${opts.out}/soak.json`);
        io.setExitCode(
          summary.result === 'held'
            ? SOAK_EXIT.HELD
            : summary.result === 'broken' || summary.result === 'findings'
              ? SOAK_EXIT.BROKEN
              : SOAK_EXIT.COULD_NOT_RUN,
        );
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
        await registry.close();
      }
    });
}
