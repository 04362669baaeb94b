/**
 * Process exit codes every cardpost command keeps to, so scripts can rely on them. They are part of
 * the error registry (host/errors/exit.ts; which error gives which code: host/errors/registry.ts,
 * docs/errors.md).
 */
export { EXIT, type ExitCode } from '../errors/exit.js';
