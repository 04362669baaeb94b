import { EventEmitter } from 'node:events';
import type { CardReader } from '../../../protocol/transport.js';
import type { ReaderSource, ReaderSourceEvents } from '../../readers/reader-source.js';
import { HidKeySource, type HidKeySourceOptions } from './hid-key-source.js';

/**
 * The USB HID card keys as a ReaderSource. node-hid has no hotplug events: HidKeySource polls its
 * device list (every `pollIntervalMs`, default 1000 ms), and a key that comes back is announced
 * again with the same reader object. An unplugged key is reported lost.
 */
export class HidSource extends EventEmitter<ReaderSourceEvents> implements ReaderSource {
  readonly medium = 'hid';
  private keys: HidKeySource | undefined;
  private readonly seen = new Set<CardReader>();

  constructor(private readonly opts: HidKeySourceOptions = {}) {
    super();
  }

  /** Load node-hid (rejects TRANSPORT_UNAVAILABLE with an install hint if it cannot) and attach the keys present. */
  async start(): Promise<void> {
    if (this.keys) return;
    const keys = await HidKeySource.open({ pollIntervalMs: 1000, ...this.opts });
    this.keys = keys;
    keys.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    keys.on('reader', (reader) => this.announce(reader));
    // The keys found by open()'s first listing were announced before anyone listened: announce them now.
    for (const reader of keys.list()) this.announce(reader);
  }

  private announce(reader: CardReader): void {
    if (!this.seen.has(reader)) {
      this.seen.add(reader);
      reader.on('end', () => this.emit('lost', reader));
    }
    this.emit('reader', reader, 'hid-key');
  }

  async stop(): Promise<void> {
    const keys = this.keys;
    this.keys = undefined;
    keys?.close();
    for (const r of this.seen) this.emit('lost', r);
    this.seen.clear();
  }
}
