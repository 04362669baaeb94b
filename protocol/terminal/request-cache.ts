/**
 * The receiver's memory of recent requests (docs/protocol.md §13.5): requestId → in progress, or
 * done with its encoded response. A request seen again — a retransmission, or the peer re-sending
 * after a lost response or a reconnect — is answered from here and never executed twice.
 * Bounded: the oldest finished entries are evicted first (insertion order of a Map).
 */
export type CacheLookup = { state: 'new' } | { state: 'in-progress' } | { state: 'done'; response: Uint8Array };

export class RequestCache {
  private readonly entries = new Map<number, Uint8Array | null>();

  constructor(readonly capacity = 256) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`RequestCache: capacity must be a positive integer, got ${String(capacity)}`);
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(requestId: number): CacheLookup {
    const e = this.entries.get(requestId);
    if (e === undefined) return { state: 'new' };
    return e === null ? { state: 'in-progress' } : { state: 'done', response: e };
  }

  /** Mark a new request as being executed. */
  begin(requestId: number): void {
    this.entries.set(requestId, null);
    this.evict();
  }

  /** Remember the response sent for requestId. */
  complete(requestId: number, response: Uint8Array): void {
    this.entries.delete(requestId); // re-insert: finished entries age from when they finished
    this.entries.set(requestId, response);
    this.evict();
  }

  private evict(): void {
    if (this.entries.size <= this.capacity) return;
    // Finished entries go first; an in-progress one only when nothing else is left to evict.
    for (const [id, v] of this.entries) {
      if (this.entries.size <= this.capacity) return;
      if (v !== null) this.entries.delete(id);
    }
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.capacity) return;
      this.entries.delete(id);
    }
  }
}
