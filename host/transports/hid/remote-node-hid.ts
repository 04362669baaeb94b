import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { CardpostError } from '../../../protocol/errors.js';
import {
  EndpointFrameReader,
  decodeEndpointMessage,
  encodeEndpointFrame,
  type ClientMessage,
  type EndpointDevice,
  type EndpointMessage,
} from '../../../protocol/framing/hid-endpoint-wire.js';
import { TransportError } from '../../../protocol/transport.js';
import type { HidDeviceInfo, NodeHidDevice, NodeHidModule } from './node-hid-module.js';

export interface RemoteNodeHidOptions {
  /** How long connecting (up to the endpoint's first device list) may take, ms (default 3000). */
  connectTimeoutMs?: number;
  /** How long one open/write/close may wait for its answer, ms (default 3000). */
  requestTimeoutMs?: number;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]|::1)$/;

/** "127.0.0.1:PORT" (or localhost, [::1]) → host and port; undefined unless loopback with a port 1–65535. */
export function parseLoopbackEndpoint(text: string): { host: string; port: number } | undefined {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (!m || !LOOPBACK.test(m[1]!)) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

const unreachable = (where: string, why: string, cause?: unknown): TransportError =>
  new TransportError(
    'TRANSPORT_UNAVAILABLE',
    `the simulated HID key endpoint at ${where} is not reachable: ${why}`,
    'start it with `cardpost sim hid --listen` and put the address it prints in readers.hidEndpoint',
    cause === undefined ? undefined : { cause },
  );

interface Pending {
  resolve: (m: EndpointMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One live connection to the endpoint, with its open devices and requests awaiting answers. */
interface Link {
  socket: Socket;
  devices: Map<number, RemoteHidDevice>;
  pending: Map<number, Pending>;
}

/**
 * node-hid's API (NodeHidModule) served by a simulated-key endpoint over loopback TCP
 * (docs/protocol.md §11.13; `cardpost sim hid`), for the daemon's `readers.hidEndpoint` — a QA
 * mechanism: this machine cannot host a virtual HID device, so the simulated keys live in another
 * process. Connects on first use and again after the connection is lost (the devices that were open
 * on it then see a read error, as when a key is pulled).
 */
export class RemoteNodeHid implements NodeHidModule {
  readonly HIDAsync: { open(path: string): Promise<NodeHidDevice> };
  private readonly where: string;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  // node-hid's devices() is synchronous, but the list lives in another process: the endpoint pushes
  // the list on connect and whenever a key is plugged or pulled, and devices() answers from this copy.
  private cache: HidDeviceInfo[] = [];
  private link: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private nextReq = 1;
  private closed = false;

  constructor(
    readonly endpoint: { host: string; port: number },
    opts: RemoteNodeHidOptions = {},
  ) {
    this.where = `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
    if (!LOOPBACK.test(endpoint.host))
      throw new TransportError(
        'TRANSPORT_UNAVAILABLE',
        `the simulated HID key endpoint must be on this machine, not ${this.where}`,
        'use 127.0.0.1:PORT (the endpoint is a QA tool and listens on loopback only)',
      );
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 3000;
    this.HIDAsync = { open: (path) => this.open(path) };
  }

  /** The keys plugged into the endpoint, as last pushed (empty until connected). */
  devices(vendorId?: number, productId?: number): HidDeviceInfo[] {
    return this.cache
      .filter((d) => vendorId === undefined || (d.vendorId === vendorId && (productId ?? d.productId) === d.productId))
      .map((d) => ({ ...d }));
  }

  /** Connects if needed (TRANSPORT_UNAVAILABLE when the endpoint cannot be reached), then the current list. */
  async devicesAsync(vendorId?: number, productId?: number): Promise<HidDeviceInfo[]> {
    await this.ensureLink();
    return this.devices(vendorId, productId);
  }

  /** Drop the connection; devices open on it see a read error. */
  close(): void {
    this.closed = true;
    this.link?.socket.destroy();
  }

  private async open(path: string): Promise<NodeHidDevice> {
    const link = await this.ensureLink();
    const answer = await this.request(link, (req) => ({ type: 'OPEN', req, path }));
    if (answer.type !== 'OPENED') throw new Error(`cannot open device with path ${path}`);
    const device = new RemoteHidDevice(answer.handle, (make) => this.request(link, make));
    link.devices.set(answer.handle, device);
    return device;
  }

  private ensureLink(): Promise<Link> {
    if (this.closed) return Promise.reject(unreachable(this.where, 'closed'));
    if (this.link) return Promise.resolve(this.link);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private connect(): Promise<Link> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.endpoint.host, port: this.endpoint.port });
      // The connection must not keep a daemon alive on its own (as the HID poll timer does not).
      socket.unref();
      socket.setNoDelay(true);
      const link: Link = { socket, devices: new Map(), pending: new Map() };
      const reader = new EndpointFrameReader();
      let hello = false;
      let settled = false;
      const fail = (e: Error): void => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(e);
        }
        socket.destroy();
      };
      const timer = setTimeout(
        () => fail(unreachable(this.where, `no answer in ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      socket.on('error', (e) => fail(unreachable(this.where, e.message, e)));
      socket.on('close', () => {
        fail(unreachable(this.where, 'the connection closed'));
        this.lost(link);
      });
      socket.on('data', (chunk) => {
        let messages: EndpointMessage[];
        try {
          messages = reader.push(chunk).map((body) => decodeEndpointMessage(body));
        } catch (e) {
          // Not our endpoint, or a broken one: drop it; the next devicesAsync() reconnects.
          const why = e instanceof CardpostError ? `${e.code}: ${e.message}` : String(e);
          fail(unreachable(this.where, `it sent a bad frame (${why})`, e));
          return;
        }
        for (const m of messages) {
          if (!hello) {
            if (m.type !== 'HELLO' || m.version !== 1) {
              fail(unreachable(this.where, `it did not greet with HELLO version 1 (got ${m.type})`));
              return;
            }
            hello = true;
            continue;
          }
          this.dispatch(link, m);
          if (m.type === 'DEVICES' && !settled) {
            settled = true;
            clearTimeout(timer);
            this.link = link;
            resolve(link);
          }
        }
      });
    });
  }

  private dispatch(link: Link, m: EndpointMessage): void {
    switch (m.type) {
      case 'DEVICES':
        this.cache = m.devices.map(toDeviceInfo);
        return;
      case 'REPORT':
        link.devices.get(m.handle)?.report(m.data);
        return;
      case 'READ_ERROR':
        link.devices.get(m.handle)?.readError(m.message);
        return;
      case 'HELLO':
        return; // only the first one means anything
      default: {
        const p = link.pending.get(m.req);
        if (!p) return; // an answer after its request timed out
        link.pending.delete(m.req);
        clearTimeout(p.timer);
        if (m.type === 'FAILED') p.reject(new Error(m.message));
        else p.resolve(m);
      }
    }
  }

  private request(link: Link, make: (req: number) => ClientMessage): Promise<EndpointMessage> {
    if (link.socket.destroyed) return Promise.reject(new Error('Cannot write to hid device: device disconnected'));
    const req = this.nextReq;
    this.nextReq = (this.nextReq % 0xffff_fffe) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        link.pending.delete(req);
        reject(new Error(`the HID endpoint did not answer in ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      link.pending.set(req, { resolve, reject, timer });
      link.socket.write(encodeEndpointFrame(make(req)));
    });
  }

  /** The connection is gone: to its open devices that is a pulled key; requests in flight fail. */
  private lost(link: Link): void {
    if (this.link === link) {
      this.link = undefined;
      this.cache = [];
    }
    for (const p of link.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('Cannot write to hid device: the endpoint connection was lost'));
    }
    link.pending.clear();
    for (const d of link.devices.values())
      d.readError('could not read from HID device: the endpoint connection was lost');
    link.devices.clear();
  }
}

function toDeviceInfo(d: EndpointDevice): HidDeviceInfo {
  return { ...d };
}

/**
 * One opened key, as node-hid's HIDAsync device: write() resolves with the bytes written (report id
 * included) or rejects with node-hid's message; 'data' carries 64-byte reports; a pulled key is one
 * 'error' while someone reads, as node-hid reports it.
 */
class RemoteHidDevice extends EventEmitter implements NodeHidDevice {
  private closed = false;
  private dead = false;

  constructor(
    private readonly handle: number,
    private readonly request: (make: (req: number) => ClientMessage) => Promise<EndpointMessage>,
  ) {
    super();
  }

  async write(values: number[] | Buffer): Promise<number> {
    const data = toBytes(values);
    if (this.closed) throw new Error('device has been closed');
    if (this.dead) throw new Error('Cannot write to hid device: device disconnected');
    if (data.length === 0) throw new Error('Cannot write to hid device: nothing to write');
    if (data.length > 65) throw new Error(`Cannot write to hid device: ${data.length} bytes is more than one report`);
    const answer = await this.request((req) => ({ type: 'WRITE', req, handle: this.handle, data }));
    return answer.type === 'WRITTEN' ? answer.count : data.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removeAllListeners();
    await this.request((req) => ({ type: 'CLOSE', req, handle: this.handle })).catch(() => undefined);
  }

  report(data: Uint8Array): void {
    if (!this.closed && !this.dead && this.listenerCount('data') > 0) this.emit('data', Buffer.from(data));
  }

  readError(message: string): void {
    if (this.dead) return;
    this.dead = true;
    if (!this.closed && this.listenerCount('data') > 0) this.emit('error', new Error(message));
  }
}

/** node-hid's conversion: a Buffer as is; array elements truncated to bytes (N-API Uint32Value, then a byte). */
function toBytes(values: unknown): Uint8Array {
  if (Buffer.isBuffer(values)) return Uint8Array.from(values);
  if (Array.isArray(values)) {
    return Uint8Array.from(values, (v: unknown) => {
      if (typeof v !== 'number')
        throw new TypeError('unexpected array element in array to send, expecting only integers');
      return (Math.trunc(v) >>> 0) & 0xff;
    });
  }
  throw new TypeError('unexpected data to send, expecting an array or buffer');
}
