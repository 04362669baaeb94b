import { CardpostError } from '../../protocol/errors.js';

/** The daemon cannot start or be found (credentials, its lock and data files, the running process). Codes are stable. */
export class DaemonError extends CardpostError {}
