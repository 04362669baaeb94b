import type { Command } from 'commander';
import type { CliIo } from './crypto-command.js';

/** The options every command that talks to the running daemon takes (counter-commands.ts, sale-command.ts). */
export interface Common {
  dataDir?: string;
  json?: boolean;
}

export const common = (c: Command): Command =>
  c
    .option(
      '--data-dir <dir>',
      "the daemon's data directory (default: $CARDPOST_DATA_DIR, ~/.local/share/cardpost, then its demo/)",
    )
    .option('--json', 'print JSON for scripts');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const json = (io: CliIo, v: unknown): void => io.out(JSON.stringify(v, null, 2));
