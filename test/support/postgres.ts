/**
 * A throwaway PostgreSQL for tests: initdb into a temp directory, started with pg_ctl on 127.0.0.1 and
 * a free port (its unix socket inside the temp directory too), stopped (fast, or `immediate` for crash
 * tests) and removed at the end. Nothing of the machine's own PostgreSQL (clusters, service, config)
 * is used or touched.
 *
 * initdb and postgres refuse to run as root. As root (CI, this workplace) both run as the `postgres`
 * user, which Debian's postgresql-common creates (a dependency of postgresql-15); without it a
 * dedicated system user `cardpost-pgtest` is created, or the helper says how to get one.
 * Binaries: $CARDPOST_PG_BINDIR, else initdb on PATH, else the newest /usr/lib/postgresql/<v>/bin (Debian).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireSystem, which } from './system.js';

const run = promisify(execFile);

/** What .ci/run installs for these suites. */
export const POSTGRES_INSTALL_HINT = 'apt-get install postgresql-15 (Debian 12; the package "postgresql" elsewhere)';

/** The directory holding initdb, pg_ctl and postgres; undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const fromEnv = process.env.CARDPOST_PG_BINDIR;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined;
  const onPath = which('initdb');
  if (onPath && existsSync(onPath.replace(/initdb$/, 'pg_ctl'))) return onPath.replace(/\/initdb$/, '');
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(debian, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(debian, versions[0], 'bin') : undefined;
}

/** In a mocha `before`: the bin dir, or skip the suite (fail under REQUIRE_SYSTEM=1) naming the package. */
export function requirePostgres(ctx: Mocha.Context): string {
  const dir = postgresBinDir();
  requireSystem(ctx, dir ? [] : ['PostgreSQL (initdb, pg_ctl)'], POSTGRES_INSTALL_HINT);
  return dir!;
}

interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

function idOf(user: string): RunAs | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { user, uid, gid };
  } catch {
    return undefined;
  }
}

/** Who runs the server: ourselves, unless we are root (then postgres, or a dedicated user we create). */
function serverUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const existing = idOf('postgres') ?? idOf('cardpost-pgtest');
  if (existing) return existing;
  try {
    execFileSync(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'cardpost-pgtest'],
      {
        stdio: 'ignore',
      },
    );
  } catch (e) {
    throw new Error(
      `PostgreSQL refuses to run as root and there is no "postgres" user, and creating "cardpost-pgtest" failed (${(e as Error).message}); ` +
        `install postgresql-15 (its postgresql-common creates "postgres") or create a system user "cardpost-pgtest"`,
    );
  }
  return idOf('cardpost-pgtest');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface StartPostgresOptions {
  /** fsync on (default off: the tests' crashes are process crashes, where the OS keeps what was written). */
  durable?: boolean;
}

export class ThrowawayPostgres {
  readonly host = '127.0.0.1';
  readonly user = 'cardpost';
  readonly database = 'postgres';
  private running = false;
  /** The test process is exiting with the server still up (a hung or crashed suite): kill it, leave nothing behind. */
  private readonly onExit = () => {
    this.stopSync();
    this.remove();
  };

  private constructor(
    readonly binDir: string,
    readonly dir: string,
    readonly port: number,
    private readonly runAs: RunAs | undefined,
    private readonly durable: boolean,
  ) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }
  get socketDir(): string {
    return this.dir;
  }
  /** For pg.Pool: `{ connectionString }` or the fields below. */
  get connectionString(): string {
    return `postgres://${this.user}@${this.host}:${this.port}/${this.database}`;
  }
  get poolConfig(): { host: string; port: number; user: string; database: string } {
    return { host: this.host, port: this.port, user: this.user, database: this.database };
  }

  /** initdb + start; the caller must `destroy()` (an exit handler stops the server if the test process dies first). */
  static async start(binDir: string, opts: StartPostgresOptions = {}): Promise<ThrowawayPostgres> {
    const runAs = serverUser();
    const dir = mkdtempSync(join(tmpdir(), 'cardpost-pg-'));
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const pg = new ThrowawayPostgres(binDir, dir, await freePort(), runAs, opts.durable ?? false);
    try {
      await pg.exec('initdb', [
        '-D',
        pg.dataDir,
        '-U',
        pg.user,
        '--auth=trust', // loopback and a socket in a private directory: only this machine's tests reach it
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ]);
      await pg.startServer();
    } catch (e) {
      pg.remove();
      throw e;
    }
    return pg;
  }

  private async exec(tool: string, args: string[]): Promise<string> {
    const bin = join(this.binDir, tool);
    const [cmd, argv] = this.runAs ? ['runuser', ['-u', this.runAs.user, '--', bin, ...args]] : [bin, args];
    try {
      const { stdout } = await run(cmd, argv, { env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, timeout: 60_000 });
      return stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const log = existsSync(join(this.dir, 'log')) ? readFileSync(join(this.dir, 'log'), 'utf8').slice(-2000) : '';
      throw new Error(`${tool} failed: ${err.stderr?.trim() || err.message}${log ? `\nserver log:\n${log}` : ''}`);
    }
  }

  /** Start (again, after `stop`) on the same port and data. */
  async startServer(): Promise<void> {
    const settings = [
      `-p ${this.port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${this.dir}'`,
      `-c fsync=${this.durable ? 'on' : 'off'}`,
      '-c max_connections=60',
    ].join(' ');
    await this.exec('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '30',
      '-o',
      settings,
      'start',
    ]);
    this.running = true;
    process.once('exit', this.onExit);
  }

  /** `fast`: clients are disconnected, a clean shutdown. `immediate`: the server dies as in a crash (recovery at the next start). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.running) return;
    await this.exec('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
    this.running = false;
    process.removeListener('exit', this.onExit);
  }

  private stopSync(): void {
    if (!this.running) return;
    const bin = join(this.binDir, 'pg_ctl');
    const args = ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop'];
    try {
      if (this.runAs) execFileSync('runuser', ['-u', this.runAs.user, '--', bin, ...args], { stdio: 'ignore' });
      else execFileSync(bin, args, { stdio: 'ignore' });
    } catch {
      // the process is exiting anyway
    }
    this.running = false;
  }

  private remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stop (fast) and delete everything. */
  async destroy(): Promise<void> {
    try {
      await this.stop('fast');
    } finally {
      this.remove();
    }
  }
}
