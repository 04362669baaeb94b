import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CardpostError } from '../../protocol/errors.js';
// Simulator wiring (test/unit/layering.test.ts lists this file): the QA runner's view of host/.
import type { QaHost } from '../../device-sim/qa/qa-types.js';
import { initIssuerDir, issueTerminal, openIssuerDir } from '../issuer/issuer-dir.js';
import { prepareSimCard } from './sim-card-setup.js';

/**
 * What the QA stack needs from host/ (device-sim never imports host/): a fresh issuer, terminal
 * certificates, personalising a simulated card through its own APDUs, and the `cardpost` entry the
 * daemon is started with.
 */
export function qaHost(): QaHost {
  return {
    newIssuer: (dir) => initIssuerDir(dir, { name: 'cardpost QA issuer' }),
    newTerminal: (issuerDir, terminalId, outDir) => {
      issueTerminal(openIssuerDir(issuerDir), terminalId, outDir);
    },
    personalize: async (card, setup) => {
      // A card that refuses extended APDUs (a T=0 card) is personalised with chained ones.
      const extended = (card as { extendedLength?: unknown }).extendedLength;
      const made = await prepareSimCard(
        card,
        { issuerDir: setup.issuerDir, pin: setup.pin, balance: setup.balance, currency: setup.currency },
        { cardId: setup.cardId, limits: setup.limits, extendedLength: extended !== false },
      );
      if (!made.puk)
        throw new CardpostError(
          'QA_STACK_FAILED',
          `the simulated card ${made.cardId} was not blank`,
          'the QA stack makes a new card state file for every card: report this as a bug',
        );
      return { cardId: made.cardId, puk: made.puk };
    },
    cliEntry: findCliEntry(),
  };
}

/** bin/cardpost.mjs: the same file from the sources and from the build (dist/bin links to bin, scripts/build-cli.mjs). */
const CLI_ENTRY = new URL('../../bin/cardpost.mjs', import.meta.url);

function findCliEntry(): string {
  const entry = fileURLToPath(CLI_ENTRY);
  if (existsSync(entry)) return entry;
  throw new CardpostError(
    'QA_STACK_FAILED',
    `cannot find ${entry} to start the daemon with`,
    'run the QA runner from a cardpost checkout or install (npm ci)',
  );
}
