import type { DeviceEvent } from '../qa-types.js';

/** The device timeline of one stack: every device appends what it did, stamped with ms since the start. */
export class Timeline {
  readonly events: DeviceEvent[] = [];
  private readonly t0 = performanceNow();

  /** ms since the stack started (the daemon's clock jumps do not move it). */
  now(): number {
    return Math.round(performanceNow() - this.t0);
  }

  add(source: string, text: string): void {
    this.events.push({ t: this.now(), source, text });
  }

  /** A writer bound to one device. */
  for(source: string): (text: string) => void {
    return (text) => this.add(source, text);
  }
}

function performanceNow(): number {
  return performance.now();
}
