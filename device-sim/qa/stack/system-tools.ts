import { existsSync } from 'node:fs';

/** The path of a program on PATH (or in /usr/sbin, /sbin, where pcscd lives), or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = `${dir}/${cmd}`;
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}
