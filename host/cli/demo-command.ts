import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
// The demo wiring is one of the two places the host may reach into the simulator (DESIGN layout).
import { openSimCard } from '../../device-sim/card/sim-card.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { SimBank } from '../../device-sim/bank/index.js';
import { initIssuerDir, issueTerminal, openIssuerDir } from '../issuer/issuer-dir.js';
import { defaultDataDir, loadConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import type { CliIo } from './crypto-command.js';
import { prepareSimCard } from './sim-command.js';
import { runUntilSignalled } from './daemon-command.js';

export const DEMO_PIN = '1234';

/**
 * `cardpost demo` (what `npm start` runs): the real daemon, with a simulated card in an in-process
 * reader and the simulated bank on loopback, all state under one folder so a second run carries on
 * where the first stopped. Prints what to try next; stdin takes remove/insert/bank down/bank up/quit.
 */
export function demoCommand(io: CliIo): Command {
  return new Command('demo')
    .description('run the daemon with a simulated card reader and bank: no hardware needed')
    .option(
      '--data-dir <dir>',
      'where the demo keeps its state',
      join(process.env.CARDPOST_DATA_DIR || defaultDataDir(), 'demo'),
    )
    .option('--port <n>', 'local API port (0: any free port)', '8450')
    .option('--pcsc', 'also use PC/SC readers through pcscd')
    .action(async (o: { dataDir: string; port: string; pcsc?: boolean }) => {
      const dir = o.dataDir;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const issuerDir = join(dir, 'issuer');
      const issuer = existsSync(join(issuerDir, 'ca.key'))
        ? openIssuerDir(issuerDir)
        : initIssuerDir(issuerDir, { name: 'cardpost demo issuer' });
      const terminalDir = join(dir, 'terminal');
      if (!existsSync(join(terminalDir, 'terminal.key'))) issueTerminal(issuer, 'T-DEMO-01', terminalDir);

      const bank = new SimBank({
        dbPath: join(dir, 'bank.sqlite'),
        issuerCertificate: issuer.ca.certificate,
        authority: issuer.authority,
        faults: { adminEndpoint: true },
      });
      const { url: bankUrl } = await bank.listen({ host: '127.0.0.1', port: 0 });

      const applet = openSimCard(join(dir, 'card.nvm'), { extendedLength: true });
      const made = await prepareSimCard(applet, { issuerDir, pin: DEMO_PIN, balance: 50_000, currency: 156 });
      const reader = new InProcessReader({ name: 'cardpost demo reader', latencyMs: 4 });

      const config = loadConfig({
        overrides: {
          dataDir: dir,
          terminalDir,
          merchantId: 'M-DEMO',
          currency: 156,
          authorityCertificate: join(issuerDir, 'authority.cert'),
          bank: { url: bankUrl, healthIntervalMs: 2000 },
          api: { port: Number(o.port) },
          readers: { pcsc: o.pcsc === true },
          log: { level: 'warn' },
        },
      });
      const daemon = await Daemon.start({ config, readers: [{ reader, kind: 'simulated' }] });
      reader.insert(applet);

      io.out(`cardpost demo is running (state in ${dir})`);
      io.out(`  counter page ${daemon.url}/            customer display ${daemon.url}/customer`);
      io.out(`  daemon API   ${daemon.url}/api/v1   token (also pairs the pages): ${join(dir, 'api-token')}`);
      io.out(`  bank (sim)   ${bankUrl}`);
      io.out(
        `  card (sim)   ${made.cardId} in "${reader.name}", PIN ${DEMO_PIN}${made.puk ? `, PUK ${made.puk}` : ''} (simulated card: printed for QA)`,
      );
      io.out('');
      io.out('Try, in another terminal:');
      io.out('  npx cardpost sale --amount 12.50       a payment without PIN');
      io.out(
        '  npx cardpost sale --amount 150.00      above the no-PIN limit: the customer types the PIN (1234) on the customer display',
      );
      io.out('  npx cardpost queue                     what is stored and its settlement status');
      io.out('  npx cardpost settle                    settle now, with progress');
      io.out('  npx cardpost card info                 the card: balance, counter, PIN tries');
      io.out('Type here: remove | insert (the card) · bank down | bank up · quit');

      const rl = createInterface({ input: process.stdin });
      rl.on('line', (line) => {
        const cmd = line.trim().replace(/\s+/g, ' ');
        if (cmd === 'remove') {
          reader.remove();
          io.out('card removed');
        } else if (cmd === 'insert') {
          reader.insert(applet);
          io.out('card inserted');
        } else if (cmd === 'bank down') {
          bank.setFaults({ down: true });
          io.out('bank is down: sales go on offline');
        } else if (cmd === 'bank up') {
          bank.setFaults({ down: false });
          io.out('bank is back: the queue settles by itself');
        } else if (cmd === 'quit') process.kill(process.pid, 'SIGTERM');
        else if (cmd) io.out(`unknown "${cmd}": remove | insert | bank down | bank up | quit`);
      });
      await runUntilSignalled(async () => {
        rl.close();
        await daemon.stop();
        await bank.close();
      });
    });
}
