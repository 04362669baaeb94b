/** Process exit codes every cardpost command keeps to, so scripts can rely on them (docs/errors.md). */
export const EXIT = {
  OK: 0,
  /** The operation ran and the answer is "no": a signature did not verify, a check failed, the daemon refused. */
  NEGATIVE: 1,
  /** Bad input: unknown option, malformed hex, wrong key length. The message says which. */
  USAGE: 2,
  /** A device, file or service was unavailable or failed. */
  UNAVAILABLE: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
