import type { EventEmitter } from 'node:events';
import type { CardReader } from '../../protocol/transport.js';

/** How a reader is reached; shown to the merchant and used to pick defaults. */
export type ReaderKind = 'pcsc' | 'simulated' | 'serial-terminal' | 'hid-key';

export interface ReaderSourceEvents {
  /** A reader was found, or came back (the same object may be announced again after a `lost`). */
  reader: [reader: CardReader, kind: ReaderKind];
  /** A reader this source announced is gone for now (its medium went away, or the source stopped). */
  lost: [reader: CardReader];
  /** Something went wrong that the source works around by itself (it retries, reconnects): for the log. */
  error: [Error];
}

/**
 * One medium's way of finding card readers (PC/SC, serial terminals, HID card keys), each in its own
 * `host/transports/<medium>/` folder. The owner starts it and adds what it announces to the
 * ReaderHub (`ReaderHub.follow`); how the medium notices readers come and go, and how it reconnects
 * after its service or port fails, is the source's own business.
 */
export interface ReaderSource extends EventEmitter<ReaderSourceEvents> {
  /** The medium, for logs: 'pcsc', 'serial', 'hid'. */
  readonly medium: string;
  /** Begin finding readers. Rejects only when the medium cannot be used at all (e.g. its module is missing). */
  start(): Promise<void>;
  /** Stop finding readers and let go of the medium; every reader announced is reported `lost`. */
  stop(): Promise<void>;
}
