import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CardpostError } from '../../protocol/errors.js';
import { defaultDataDir } from '../daemon/config.js';
import { DATA_FILES, findDaemon } from '../daemon/data-files.js';

import { ApiError } from './api-error.js';
import type { Lang, LangHolder } from './lang-choice.js';

export { ApiError };

/** Where the CLI looks for a running daemon: --data-dir, CARDPOST_DATA_DIR, the default, then the demo's. */
export function candidateDataDirs(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [explicit];
  const base = env.CARDPOST_DATA_DIR || defaultDataDir(env);
  return [base, join(base, 'demo')];
}

/** A client of the daemon's local API, authenticated with the token file next to its database. */
export class DaemonClient {
  private constructor(
    readonly url: string,
    private readonly token: string,
    readonly dataDir: string,
  ) {}

  static connect(explicitDataDir?: string): DaemonClient {
    const dirs = candidateDataDirs(explicitDataDir);
    let firstError: unknown;
    for (const dir of dirs) {
      if (!existsSync(join(dir, DATA_FILES.info))) continue;
      try {
        const { info, token } = findDaemon(dir);
        return new DaemonClient(info.url, token, dir);
      } catch (e) {
        firstError ??= e;
      }
    }
    if (firstError) throw firstError;
    throw new CardpostError(
      'DAEMON_NOT_RUNNING',
      `no cardpost daemon is running (looked in ${dirs.join(', ')})`,
      'start one with `cardpost daemon` or `npm start` (the demo), or pass --data-dir',
    );
  }

  /**
   * Connect, and when no language was chosen (--lang, CARDPOST_LANG) take the daemon's configured
   * `ui.language` for the run (docs/ui.md "Languages"): the counter page's and the merchant CLI's default.
   */
  static async connectFor(io: LangHolder, explicitDataDir?: string): Promise<DaemonClient> {
    const client = DaemonClient.connect(explicitDataDir);
    if (io.lang === undefined) {
      const lang = await client.language();
      if (lang) io.lang = lang;
    }
    return client;
  }

  /** The daemon's `ui.language` (GET /api/v1/status), or undefined when it does not say or does not answer in 3 s. */
  async language(): Promise<Lang | undefined> {
    try {
      const res = await fetch(this.url + '/api/v1/status', {
        headers: { Authorization: `Bearer ${this.token}` },
        signal: AbortSignal.timeout(3000),
      });
      if (!res.ok) return undefined;
      const lang = ((await res.json()) as { ui?: { language?: unknown } } | undefined)?.ui?.language;
      return lang === 'zh-CN' || lang === 'en' ? lang : undefined;
    } catch {
      return undefined;
    }
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new CardpostError(
        'DAEMON_UNREACHABLE',
        `the daemon at ${this.url} did not answer: ${e instanceof Error ? e.message : String(e)}`,
        'check that it is still running (cardpost daemon)',
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string; hint?: string } } | undefined)?.error;
      throw new ApiError(
        err?.code ?? `HTTP_${res.status}`,
        err?.message ?? `the daemon answered ${res.status}`,
        err?.hint ?? 'see the daemon log',
        res.status,
      );
    }
    return json as T;
  }

  /** The raw response, for streamed downloads (queue export). */
  async stream(path: string): Promise<Response> {
    const res = await fetch(this.url + path, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!res.ok)
      throw new ApiError(
        `HTTP_${res.status}`,
        `the daemon answered ${res.status} for ${path}`,
        'see the daemon log',
        res.status,
      );
    return res;
  }
}
