import { interrupted } from '../qa-errors.js';

/** Throws QA_INTERRUPTED once the run is being stopped. */
export function throwIfStopped(signal: AbortSignal): void {
  if (signal.aborted) throw interrupted(String(signal.reason ?? 'a signal'));
}

/** A pause that ends early (throwing QA_INTERRUPTED) when the run is stopped. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  throwIfStopped(signal);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(interrupted(String(signal.reason ?? 'a signal')));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
