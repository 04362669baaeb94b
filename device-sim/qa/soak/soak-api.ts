import { CardpostError } from '../../../protocol/errors.js';
import type { QaReader, QaStack } from '../qa-types.js';

/**
 * The daemon's API as the soak uses it: the daemon may be down for a moment (killed and restarted on
 * purpose), so reads wait for it to come back instead of failing the run.
 */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ApiError {
  code: string;
  message: string;
}

/** A Sale (docs/host-api.md §3.2), the fields the soak reads. */
export interface Sale {
  saleId: string;
  amount: number;
  reader: string | null;
  state: string;
  pinTriesLeft: number | null;
  pinOnDevice: boolean;
  notice: ApiError | null;
  error: ApiError | null;
  receipt: { counter: number; balanceAfter: number } | null;
  createdAt: number;
  updatedAt: number;
}

export const FINAL_STATES = new Set(['done', 'cancelled', 'timed_out', 'failed', 'unconfirmed']);

export const errorCode = (body: unknown): string | undefined =>
  (body as { error?: { code?: unknown } } | undefined)?.error?.code as string | undefined;

/** Wait until the daemon runs and answers its health check; false after `timeoutMs`. */
export async function daemonBack(stack: QaStack, timeoutMs = 60_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (stack.daemon.running) {
      const ok = await stack.daemon
        .api('GET', '/api/v1/health', undefined, 2000)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return true;
    }
    await sleep(200);
  }
  return false;
}

/** A read (GET, or an idempotent call), retried across a daemon restart until `timeoutMs`. */
export async function read<T>(
  stack: QaStack,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<{ status: number; body: T }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (stack.daemon.running) return await stack.daemon.api<T>(method, path, body, 15_000);
    } catch (e) {
      if (Date.now() > end) throw daemonGone(path, e);
    }
    if (Date.now() > end) throw daemonGone(path, undefined);
    await sleep(200);
  }
}

const daemonGone = (path: string, e: unknown) =>
  new CardpostError(
    'QA_SOAK_DAEMON_GONE',
    `the daemon did not answer ${path} (${e instanceof Error ? e.message : 'not running'})`,
    "it did not come back after a restart: read the daemon's log lines in soak.json",
  );

/**
 * Read the card in `reader` (GET /api/v1/readers/{name}/card): a card session, so journal recovery
 * stores whatever the card signed that the daemon had not. Retried while the reader is busy.
 */
export async function readCard(stack: QaStack, reader: QaReader, timeoutMs = 20_000): Promise<string | undefined> {
  const end = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < end) {
    if (reader.cardIn === undefined) return 'NO_CARD';
    const r = await read(stack, 'GET', `/api/v1/readers/${encodeURIComponent(reader.daemonName)}/card`).catch(
      (e: Error) => ({ status: 0, body: { error: { code: (e as CardpostError).code ?? e.message } } }),
    );
    if (r.status === 200) return undefined;
    last = errorCode(r.body) ?? `HTTP ${r.status}`;
    await sleep(300);
  }
  return last;
}

/** Wait until the daemon lists every reader of the stack again (after a restart). */
export async function readersListed(stack: QaStack, timeoutMs = 30_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  const want = [...stack.readers.values()].map((r) => r.daemonName);
  while (Date.now() < end) {
    const r = await read<{ readers?: { name: string }[] }>(stack, 'GET', '/api/v1/readers').catch(() => undefined);
    const names = new Set((r?.body.readers ?? []).map((x) => x.name));
    if (want.every((n) => names.has(n))) return true;
    await sleep(250);
  }
  return false;
}

/** Settle now and wait until the queue counts nothing unsettled; the count left when `timeoutMs` ran out. */
export async function settleAll(stack: QaStack, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let left = -1;
  while (Date.now() < end) {
    await read(stack, 'POST', '/api/v1/settlement').catch(() => undefined);
    const q = await read<{ summary: { unsettled: { count: number } } }>(stack, 'GET', '/api/v1/queue?limit=1').catch(
      () => undefined,
    );
    left = q?.body.summary.unsettled.count ?? -1;
    if (left === 0) return 0;
    await sleep(500);
  }
  return left;
}
