import { EventEmitter } from 'node:events';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import type { ReaderKind, ReaderSource } from './reader-source.js';

export type { ReaderKind } from './reader-source.js';

export interface ReaderInfo {
  name: string;
  kind: ReaderKind;
  cardPresent: boolean;
  extendedLength: boolean;
  pinPad: boolean;
  busy: boolean;
}

export interface ReaderHubEvents {
  added: [ReaderInfo];
  removed: [ReaderInfo];
  card: [CardReader];
  cardRemoved: [CardReader];
  changed: [ReaderInfo];
}

/**
 * Every card reader the daemon can use right now, whatever the medium, with one lock per reader:
 * a card answers one conversation at a time, so a sale, a background journal recovery and a raw
 * APDU from the CLI take turns.
 */
export class ReaderHub extends EventEmitter<ReaderHubEvents> {
  private readonly readers = new Map<
    string,
    { reader: CardReader; kind: ReaderKind; detach: () => void; lock: Promise<unknown>; busy: number }
  >();

  add(reader: CardReader, kind: ReaderKind): void {
    if (this.readers.has(reader.name)) this.remove(reader.name);
    const onCard = () => {
      this.emit('card', reader);
      this.emit('changed', this.info(reader.name)!);
    };
    const onRemoved = () => {
      this.emit('cardRemoved', reader);
      const i = this.info(reader.name);
      if (i) this.emit('changed', i);
    };
    const onEnd = () => this.remove(reader.name);
    const onError = () => {
      /* surfaced by the failing transmit; keeps an 'error' event from crashing the daemon */
    };
    reader.on('card', onCard);
    reader.on('removed', onRemoved);
    reader.on('end', onEnd);
    reader.on('error', onError);
    const detach = () => {
      reader.off('card', onCard);
      reader.off('removed', onRemoved);
      reader.off('end', onEnd);
      reader.off('error', onError);
    };
    this.readers.set(reader.name, { reader, kind, detach, lock: Promise.resolve(), busy: 0 });
    this.emit('added', this.info(reader.name)!);
    if (reader.cardPresent) this.emit('card', reader);
  }

  remove(name: string): void {
    const r = this.readers.get(name);
    if (!r) return;
    const info = this.info(name)!;
    r.detach();
    this.readers.delete(name);
    this.emit('removed', info);
  }

  /**
   * Keep the hub in step with a reader source: what it finds is added, what it loses removed (only
   * if the hub still holds that very reader, not a newer one of the same name). Returns the undo.
   */
  follow(source: ReaderSource): () => void {
    const onReader = (reader: CardReader, kind: ReaderKind) => this.add(reader, kind);
    const onLost = (reader: CardReader) => {
      if (this.get(reader.name) === reader) this.remove(reader.name);
    };
    source.on('reader', onReader);
    source.on('lost', onLost);
    return () => {
      source.off('reader', onReader);
      source.off('lost', onLost);
    };
  }

  get(name: string): CardReader | undefined {
    return this.readers.get(name)?.reader;
  }

  info(name: string): ReaderInfo | undefined {
    const r = this.readers.get(name);
    if (!r) return undefined;
    return {
      name,
      kind: r.kind,
      cardPresent: r.reader.cardPresent,
      extendedLength: r.reader.extendedLength,
      pinPad: r.reader.pinPad !== undefined,
      busy: r.busy > 0,
    };
  }

  list(): ReaderInfo[] {
    return [...this.readers.keys()].map((n) => this.info(n)!);
  }

  readersList(): CardReader[] {
    return [...this.readers.values()].map((r) => r.reader);
  }

  /** Run `fn` alone on this reader (after whatever holds it now). */
  async exclusive<T>(name: string, fn: (reader: CardReader) => Promise<T>): Promise<T> {
    const r = this.readers.get(name);
    if (!r)
      throw new TransportError(
        'READER_GONE',
        `reader ${name} is not connected`,
        'plug the reader in (or start pcscd), then try again',
      );
    // Pages show "busy": say so when it starts and when it ends (a card pulled mid-session leaves no other event).
    const changed = () => {
      if (this.readers.get(name) === r) this.emit('changed', this.info(name)!);
    };
    const run = r.lock.then(async () => {
      if (r.busy++ === 0) changed();
      try {
        return await fn(r.reader);
      } finally {
        if (--r.busy === 0) changed();
      }
    });
    r.lock = run.catch(() => undefined);
    return run;
  }
}
