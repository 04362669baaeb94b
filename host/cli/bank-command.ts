/**
 * `cardpost bank serve`: the issuer's clearing service (docs/clearing.md). One primary process forks
 * `--processes` API processes (node:cluster) that share the listening port; each verifies on its own
 * core and settles in the shared ledger, PostgreSQL (`--postgres`) or one SQLite file (`--db`). The
 * primary only supervises: an API process that dies is replaced, and its unacknowledged batches are
 * retried by their terminals with the same batch id.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { CardpostError } from '../../protocol/errors.js';
import type { CliIo } from './crypto-command.js';
import { parseHostPort } from './parse.js';
import { EXIT } from './exit-codes.js';
import { exitCodeForError } from '../errors/registry.js';
import { openIssuerDir } from '../issuer/issuer-dir.js';
import { ClearingService } from '../clearing/clearing-service.js';
import { startClearingHttp } from '../clearing/http/clearing-http.js';
import type { ClearingLedger } from '../clearing/ledger.js';
import { startAcquirer, type RunningAcquirer } from '../clearing/acquirer/acquirer-server.js';
import { readTerminalFile } from '../clearing/acquirer/terminal-file.js';
import { LINK_DIALECT_NAMES, type LinkDialectName } from '../../protocol/iso8583/link-dialect.js';

interface ServeOptions {
  issuer: string;
  listen: string;
  postgres?: string;
  db?: string;
  processes: string;
  partitions: string;
  poolSize: string;
  windowDays: string;
  iso8583Listen?: string;
  iso8583Terminals?: string;
  iso8583Dialect: string;
}

/** What an API process tells the primary. */
type WorkerMessage =
  { kind: 'listening'; url: string; iso?: string } | { kind: 'failed'; line: string; exitCode: number };

/** A process that cannot start says why (and with which exit code): a port in use, a bad issuer… */
function startFailure(e: unknown): CardpostError {
  if (e instanceof CardpostError) return e;
  const code = (e as { code?: unknown }).code;
  if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES')
    return new CardpostError(
      'BANK_LISTEN_FAILED',
      `cannot listen: ${(e as Error).message}`,
      'choose a free port or an address of this machine for --listen / --iso8583-listen',
    );
  return new CardpostError(
    'BANK_START_FAILED',
    `an API process could not start: ${String(e)}`,
    'report this with the command line used',
  );
}

/** Replaced API processes that die this soon after starting count as a crash loop. */
const EARLY_DEATH_MS = 10_000;
const MAX_EARLY_DEATHS = 5;

function positiveInt(v: string, name: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new CardpostError('CLI_USAGE', `${name} must be an integer 1…${max}, got "${v}"`, `for example ${name} 2`);
  return n;
}

/**
 * Open the ledger, waiting for a database that is down (a replacement process may start while
 * PostgreSQL restarts): every second, saying so once. Any other error (a bad option, a newer schema)
 * ends the process.
 */
async function openLedgerWhenUp(o: ServeOptions, say: (line: string) => void): Promise<ClearingLedger> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openLedger(o);
    } catch (e) {
      if (!(e instanceof CardpostError) || e.code !== 'CLEARING_DB_UNAVAILABLE') throw e;
      if (attempt === 0) say(`bank serve: ${e.describe()}; trying again every second`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function openLedger(o: ServeOptions): Promise<ClearingLedger> {
  if (o.postgres !== undefined) {
    const { PgLedger } = await import('../clearing/pg-ledger.js');
    return PgLedger.open({
      connectionString: o.postgres,
      partitions: positiveInt(o.partitions, '--partitions', 1024),
      pool: { max: positiveInt(o.poolSize, '--pool-size', 100) },
    });
  }
  const { SqliteLedger } = await import('../clearing/sqlite-ledger.js');
  return SqliteLedger.open({ path: o.db ?? 'clearing.sqlite' });
}

/** One API process: ledger, service, HTTP; stops cleanly on SIGTERM. */
async function runApiProcess(
  o: ServeOptions,
  report: (m: WorkerMessage) => void,
  say: (line: string) => void,
): Promise<void> {
  const addr = parseHostPort(o.listen, '--listen', { allowAnyPort: true });
  const issuer = openIssuerDir(o.issuer);
  const ledger = await openLedgerWhenUp(o, say);
  const service = new ClearingService({
    ledger,
    issuerCertificate: issuer.ca.certificate,
    authority: issuer.authority,
    settlementWindowDays: Number(o.windowDays),
  });
  const http = await startClearingHttp(service, addr);
  const acquirer = o.iso8583Listen !== undefined ? await startIsoFrontEnd(o, service, say) : undefined;
  report({
    kind: 'listening',
    url: http.url,
    ...(acquirer ? { iso: `${acquirer.host}:${acquirer.port} (${o.iso8583Dialect})` } : {}),
  });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void Promise.all([http.close(), acquirer?.close()])
        .then(() => ledger.close())
        .finally(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Refuse bad options in the primary, before any process is forked (exit 2, one line). */
function checkOptions(o: ServeOptions): number {
  const processes = positiveInt(o.processes, '--processes', 64);
  positiveInt(o.partitions, '--partitions', 1024);
  positiveInt(o.poolSize, '--pool-size', 100);
  positiveInt(o.windowDays, '--window-days', 3650);
  parseHostPort(o.listen, '--listen', { allowAnyPort: true });
  if (o.iso8583Listen === undefined) return processes;
  parseHostPort(o.iso8583Listen, '--iso8583-listen', { allowAnyPort: true });
  if (!(LINK_DIALECT_NAMES as readonly string[]).includes(o.iso8583Dialect))
    throw new CardpostError(
      'CLI_USAGE',
      `--iso8583-dialect "${o.iso8583Dialect}" is not one of ${LINK_DIALECT_NAMES.join(', ')}`,
      'for example --iso8583-dialect cup-terminal',
    );
  if (o.iso8583Terminals === undefined)
    throw new CardpostError(
      'CLI_USAGE',
      '--iso8583-listen needs --iso8583-terminals <file>',
      'give the terminal table (ids, merchant ids and MAC keys; docs/iso8583.md §9)',
    );
  readTerminalFile(o.iso8583Terminals); // ACQUIRER_CONFIG_INVALID for a bad or group-readable file
  return processes;
}

/** The ISO 8583 acquirer front end on the same service (docs/iso8583.md §9). */
async function startIsoFrontEnd(
  o: ServeOptions,
  core: ClearingService,
  say: (line: string) => void,
): Promise<RunningAcquirer> {
  const addr = parseHostPort(o.iso8583Listen!, '--iso8583-listen', { allowAnyPort: true });
  return startAcquirer({
    core,
    ...addr,
    dialect: o.iso8583Dialect as LinkDialectName,
    terminals: readTerminalFile(o.iso8583Terminals!),
    onProblem: (e, peer) => say(`bank serve: ISO 8583 ${peer}: ${e.describe()}`),
  });
}

/**
 * The primary: fork, wait until every process listens, replace any that dies, stop them on a signal.
 * A process that fails to start stops the service with its reason (the same configuration fails in
 * every process); processes that keep dying right after starting stop it too, instead of looping.
 */
async function supervise(io: CliIo, o: ServeOptions, processes: number): Promise<void> {
  let stopping = false;
  let earlyDeaths = 0;
  const started = new Map<number, number>();
  const stopAll = (): void => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
  };
  const fork = (): void => {
    const w = cluster.fork();
    started.set(w.id, Date.now());
    w.on('message', (m: WorkerMessage) => {
      if (m.kind !== 'failed' || stopping) return;
      process.stderr.write(`cardpost: ${m.line}\n`);
      io.setExitCode(m.exitCode);
      stopAll();
    });
  };
  let listening = 0;
  cluster.on('message', (_w, m: WorkerMessage) => {
    if (m.kind === 'listening' && ++listening === processes)
      io.out(
        `bank serve: ${processes} API process(es) listening on ${m.url}${m.iso ? `, ISO 8583 on ${m.iso}` : ''} (ledger ${ledgerName(o)})`,
      );
  });
  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    const early = Date.now() - (started.get(w.id) ?? 0) < EARLY_DEATH_MS;
    if (early && ++earlyDeaths >= MAX_EARLY_DEATHS) {
      process.stderr.write(
        `cardpost: BANK_START_FAILED: ${earlyDeaths} API processes died within ${EARLY_DEATH_MS / 1000} s of starting — see the lines above; fix the cause and start again\n`,
      );
      io.setExitCode(EXIT.UNAVAILABLE);
      stopAll();
      return;
    }
    io.out(`bank serve: API process ${w.process.pid} ended (${signal ?? `exit ${code}`}); starting another`);
    setTimeout(fork, early ? 1000 : 0); // a crash right after starting: do not spin
  });
  for (let i = 0; i < processes; i++) fork();
  await new Promise<void>((resolve) => {
    const done = (): void => {
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) resolve();
    };
    const stop = (): void => {
      stopAll();
      done();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    cluster.on('exit', done);
  });
}

const ledgerName = (o: ServeOptions): string =>
  o.postgres !== undefined ? 'PostgreSQL' : `SQLite ${o.db ?? 'clearing.sqlite'}`;

export function bankCommand(io: CliIo): Command {
  const bank = new Command('bank').description("the issuer's clearing service (docs/clearing.md)");
  bank
    .command('serve')
    .description('settle offline sales for terminals (docs/bank-api.md) on PostgreSQL or SQLite, on all cores')
    .requiredOption(
      '--issuer <dir>',
      'issuer directory (its CA is the trust anchor; its authority signs the revocation list)',
    )
    .option('--listen <host:port>', 'address to listen on (port 0 picks a free one)', '127.0.0.1:8452')
    .addOption(
      new Option(
        '--postgres <url>',
        'PostgreSQL connection string (postgres://…; PG* variables fill what it omits)',
      ).conflicts('db'),
    )
    .option('--db <file>', 'SQLite ledger file, the single-machine backend (default clearing.sqlite)')
    .option(
      '--processes <n>',
      'API processes (each verifies on its own core)',
      String(Math.min(availableParallelism(), 8)),
    )
    .option('--partitions <n>', 'PostgreSQL: hash partitions by card id, when the schema is created', '1')
    .option('--pool-size <n>', 'PostgreSQL: connections per API process', '4')
    .option('--window-days <n>', 'records older than this are refused RECORD_EXPIRED', '30')
    .option('--iso8583-listen <host:port>', 'also serve the ISO 8583 acquirer link here (docs/iso8583.md §9)')
    .option('--iso8583-terminals <file>', 'ISO 8583: the terminal table (JSON, owner-readable only: it holds MAC keys)')
    .option('--iso8583-dialect <name>', 'ISO 8583: cup-terminal, plain-bcd or plain-ascii', 'cup-terminal')
    .action(async (o: ServeOptions) => {
      const processes = checkOptions(o);
      if (cluster.isPrimary && processes > 1) return supervise(io, o, processes);
      const send = (m: WorkerMessage): void => {
        if (cluster.isWorker) process.send?.(m);
        else if (m.kind === 'listening')
          io.out(`bank serve: listening on ${m.url}${m.iso ? `, ISO 8583 on ${m.iso}` : ''} (ledger ${ledgerName(o)})`);
      };
      try {
        await runApiProcess(o, send, (line) => io.out(line));
      } catch (e) {
        const why = startFailure(e);
        if (!cluster.isWorker) throw why;
        send({ kind: 'failed', line: why.describe(), exitCode: exitCodeForError(why) });
        process.exit(exitCodeForError(why));
      }
    });
  return bank;
}
