import { Command, CommanderError, Help, Option } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import { exitCodeForAnswer, exitCodeForError } from '../errors/registry.js';
import { ApiError } from './api-error.js';
import type { CliIo } from './crypto-command.js';
import { EXIT } from './exit-codes.js';
import { chosenLang, envLang, parseLang } from './lang-choice.js';

/**
 * The `cardpost` process entry (bin/cardpost.mjs), and the root program shared with main.ts.
 *
 * Command modules load lazily: a run imports only the modules of commands its argv names, so
 * `cardpost --help` or `cardpost crypto sm3` does not load the daemon, fastify, SQLite or the
 * simulator first. The root help still lists every command: from the build it draws on an index of
 * the top-level commands made at build time (`commandIndex`, kept in dist/manifest.json by
 * scripts/build-cli.mjs, which is only used while no source is newer); from the sources every
 * module is loaded. main.ts keeps the eager `buildProgram` for in-process use.
 */

type CommandModule = (io: CliIo) => Promise<Command[]>;

/** The top-level command modules, in the order `--help` lists their commands. */
const COMMAND_MODULES: readonly CommandModule[] = [
  async (io) => [(await import('./demo-command.js')).demoCommand(io)],
  async (io) => [(await import('./daemon-command.js')).daemonCommand(io)],
  async (io) => (await import('./counter-commands.js')).counterCommands(io),
  async (io) => (await import('./day-commands.js')).dayCommands(io),
  async (io) => [(await import('./crypto-command.js')).cryptoCommand(io)],
  async (io) => [(await import('./selftest-command.js')).selftestCommand(io)],
  async (io) => [(await import('./issuer-command.js')).issuerCommand(io)],
  async (io) => [(await import('./card-command.js')).cardCommand(io)],
  async (io) => [(await import('./sim-command.js')).simCommand(io)],
  async (io) => [(await import('./qa-command.js')).qaCommand(io)],
  async (io) => [(await import('./bank-command.js')).bankCommand(io)],
];

/** A top-level command as the root program needs it unloaded: its names for routing, its help line. */
export interface CommandSummary {
  names: string[];
  visible: boolean;
  term: string;
  description: string;
}
/** One list of summaries per command module, in COMMAND_MODULES order. */
export type CommandIndex = CommandSummary[][];

/** The root program over the given top-level commands: bad usage exits 2, output goes to our sinks. */
export function assembleProgram(commands: readonly Command[], io: CliIo, err: (line: string) => void): Command {
  const program = new Command('cardpost')
    .description('Offline smart-card payments at the shop counter')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .addOption(
      new Option(
        '--lang <lang>',
        "language of the merchant's messages: zh-CN or en (default: $CARDPOST_LANG, then the locale); --json is never translated",
      ).argParser(parseLang),
    );
  // Before any command runs: the language a person chose (cli-lang.ts); none, and a command that talks to the
  // daemon takes the daemon's ui.language. A bad CARDPOST_LANG is a usage error, as a bad --lang is.
  program.hook('preAction', () => {
    const lang = chosenLang(program.opts<{ lang?: ReturnType<typeof parseLang> }>().lang);
    if (lang) io.lang = lang;
  });
  for (const c of commands) program.addCommand(c);
  // Every (sub)command: bad usage exits 2 like our other "bad input" errors, and output goes to our sinks.
  const configure = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => err(s.replace(/\n$/, '')) });
    c.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Run argv on the program `build` makes; returns the exit code. Errors become one clear line on stderr. */
export async function runProgram(
  argv: string[],
  io: CliIo,
  err: (line: string) => void,
  build: (io: CliIo) => Command | Promise<Command>,
): Promise<number> {
  let code: number = EXIT.OK;
  const wrapped: CliIo = {
    out: io.out,
    setExitCode: (c) => {
      code = c;
      io.setExitCode(c);
    },
  };
  const program = await build(wrapped);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and --version end through here with exit code 0
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const lang = wrapped.lang ?? envLang();
    // The catalogue's words only now: a run that ends well never loads what it does not say (cli-lang.ts).
    const { describeError, wordsIn } = await import('./cli-lang.js');
    if (e instanceof CardpostError) {
      err(`cardpost: ${describeError(e, lang)}`);
      // The error registry decides (docs/errors.md).
      // The daemon's answer: 400 our bad input, another 4xx a refusal, 401 and 5xx unavailable.
      if (e instanceof ApiError) return exitCodeForAnswer(e.status);
      return exitCodeForError(e);
    }
    err(`cardpost: ${wordsIn(lang)('cli.unexpected', { message: e instanceof Error ? e.message : String(e) })}`);
    return EXIT.UNAVAILABLE;
  }
}

/**
 * The root program for one run. Commander dispatches only to a top-level command that an argv element
 * names (the first operand, or the one after `help`), so loading every module one of whose commands
 * an argv element names is enough; the others stand in as stubs that print their help line exactly
 * (the index's term and description) and are never run. Without an index, every module is loaded.
 */
async function programFor(
  argv: readonly string[],
  index: CommandIndex | undefined,
  io: CliIo,
  err: (line: string) => void,
): Promise<Command> {
  const words = new Set(argv);
  const usable = index?.length === COMMAND_MODULES.length ? index : undefined;
  const terms = new Map<Command, string>();
  const commands: Command[] = [];
  for (const [i, load] of COMMAND_MODULES.entries()) {
    // one after the other: the order of the static imports
    const summaries = usable?.[i];
    if (!summaries || summaries.some((s) => s.names.some((n) => words.has(n)))) {
      commands.push(...(await load(io)));
      continue;
    }
    for (const s of summaries.filter((x) => x.visible)) {
      const [name = '', ...aliases] = s.names;
      const stub = new Command(name)
        .aliases(aliases)
        .description(s.description)
        .action(() => {
          throw new Error(`internal: command ${name} was not loaded`);
        });
      terms.set(stub, s.term);
      commands.push(stub);
    }
  }
  const program = assembleProgram(commands, io, err);
  if (terms.size) {
    program.configureHelp({
      subcommandTerm(this: Help, cmd: Command): string {
        return terms.get(cmd) ?? Help.prototype.subcommandTerm.call(this, cmd);
      },
    });
  }
  return program;
}

/** The index of top-level commands for the build (loads every command module). */
export async function commandIndex(): Promise<CommandIndex> {
  const io: CliIo = { out: () => {}, setExitCode: () => {} };
  const modules: Command[][] = [];
  for (const load of COMMAND_MODULES) modules.push(await load(io));
  const program = assembleProgram(modules.flat(), io, () => {});
  const help = program.createHelp();
  const visible = new Set(help.visibleCommands(program));
  return modules.map((commands) =>
    commands.map((c) => ({
      names: [c.name(), ...c.aliases()],
      visible: visible.has(c),
      term: help.subcommandTerm(c),
      description: help.subcommandDescription(c),
    })),
  );
}

/** Run argv as the `cardpost` process, then exit with its code. `index` comes with the build. */
export async function launch(argv: string[], index?: CommandIndex): Promise<void> {
  const err = (l: string): void => {
    process.stderr.write(l + '\n');
  };
  const code = await runProgram(
    argv,
    { out: (l) => process.stdout.write(l + '\n'), setExitCode: () => {} },
    err,
    (io) => programFor(argv, index, io, err),
  );
  // Native libraries (pcsclite's monitoring thread) can keep the loop alive after a command is done:
  // exit once our output is flushed. Long-running commands (sim, daemon) only return when stopped.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
