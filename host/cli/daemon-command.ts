import { writeSync } from 'node:fs';
import { Command } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import { loadConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import type { SaleFaultHooks } from '../sale/sale-engine.js';
import type { TopupFaultHooks } from '../card-services/topup-types.js';
import type { CliIo } from './crypto-command.js';

/**
 * Fault hooks for the crash tests, from CARDPOST_TEST_FAULTS (JSON), e.g. {"killAfterSign": 0.2}:
 * with that probability the process kills itself with SIGKILL after the card signed and before the
 * record is committed. Test-only; documented in docs/daemon.md.
 */
export function testFaultsFromEnv(env: NodeJS.ProcessEnv = process.env): SaleFaultHooks | undefined {
  const raw = env.CARDPOST_TEST_FAULTS;
  if (!raw) return undefined;
  let f: { killAfterSign?: unknown };
  try {
    f = JSON.parse(raw) as typeof f;
  } catch {
    throw new CardpostError(
      'CLI_USAGE',
      'CARDPOST_TEST_FAULTS is not JSON',
      'unset it, or give e.g. {"killAfterSign":0.2}',
    );
  }
  const p = typeof f.killAfterSign === 'number' ? f.killAfterSign : 0;
  return p > 0
    ? {
        afterSign: () => {
          if (Math.random() >= p) return;
          writeSync(2, 'test fault: SIGKILL after the card signed, before the commit\n');
          process.kill(process.pid, 'SIGKILL');
        },
      }
    : undefined;
}

/**
 * {"killAfterVoid": p}: with that probability the process kills itself with SIGKILL after the card signed
 * a void's reversal and before it is stored (host/card-services/voids.ts). Test-only, like killAfterSign.
 */
export function voidFaultsFromEnv(env: NodeJS.ProcessEnv = process.env): TopupFaultHooks | undefined {
  let p = 0;
  try {
    const f = JSON.parse(env.CARDPOST_TEST_FAULTS ?? '{}') as { killAfterVoid?: unknown };
    p = typeof f.killAfterVoid === 'number' ? f.killAfterVoid : 0;
  } catch {
    return undefined; // testFaultsFromEnv has refused it already
  }
  return p > 0
    ? {
        afterVoidSigned: () => {
          if (Math.random() >= p) return;
          writeSync(2, 'test fault: SIGKILL after the card signed the reversal, before the commit\n');
          process.kill(process.pid, 'SIGKILL');
        },
      }
    : undefined;
}

/** Run until SIGINT/SIGTERM, then stop cleanly (the queue needs no flushing: every record is already committed). */
export async function runUntilSignalled(stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = () => {
      void stop().finally(resolve);
    };
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
}

export function daemonCommand(io: CliIo): Command {
  return new Command('daemon')
    .description('run the counter daemon: readers, sales, the durable queue, settlement and the local API')
    .option('--config <file>', 'JSON config file (see docs/daemon.md); CARDPOST_* environment variables override it')
    .option('--data-dir <dir>', 'data directory (queue database, API token); overrides the config')
    .action(async (o: { config?: string; dataDir?: string }) => {
      const config = loadConfig({
        ...(o.config ? { file: o.config } : {}),
        ...(o.dataDir ? { overrides: { dataDir: o.dataDir } } : {}),
      });
      const faults = testFaultsFromEnv();
      const topupFaults = voidFaultsFromEnv();
      const daemon = await Daemon.start({
        config,
        ...(faults ? { faults } : {}),
        ...(topupFaults ? { topupFaults } : {}),
      });
      io.out(
        `cardpost daemon for terminal ${daemon.terminalId}: API ${daemon.url} (token in ${config.dataDir}/api-token)`,
      );
      await runUntilSignalled(() => daemon.stop());
    });
}
