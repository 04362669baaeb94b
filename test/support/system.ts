import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * Integration suites need parts of the system (pcscd with vpcd, socat, Chromium). Without them a
 * suite skips — unless REQUIRE_SYSTEM=1 (CI), where a missing part is a failure, so a green CI
 * run always means the real thing was exercised.
 */
export const REQUIRE_SYSTEM = process.env.REQUIRE_SYSTEM === '1';

export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = `${dir}/${cmd}`;
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** Call from a `before` hook: skips the suite, or fails it under REQUIRE_SYSTEM, naming what is missing. */
export function requireSystem(ctx: Mocha.Context, missing: string[], install: string): void {
  if (missing.length === 0) return;
  const msg = `missing ${missing.join(', ')} (install: ${install})`;
  if (REQUIRE_SYSTEM) throw new Error(`REQUIRE_SYSTEM=1 but ${msg}`);
  console.log(`      skipped: ${msg}`);
  ctx.skip();
}

export function commandWorks(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
