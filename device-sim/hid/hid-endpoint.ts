import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CardpostError } from '../../protocol/errors.js';
import {
  EndpointFrameReader,
  HID_ENDPOINT_MAX_DEVICES,
  HID_ENDPOINT_VERSION,
  decodeClientMessage,
  encodeEndpointFrame,
  type ClientMessage,
  type EndpointDevice,
  type EndpointMessage,
} from '../../protocol/framing/hid-endpoint-wire.js';
import type { SimHidAsyncDevice } from './sim-hid-device.js';
import type { SimHidKey } from './sim-hid-key.js';
import { SimNodeHid } from './sim-node-hid.js';

export interface SimHidEndpointOptions {
  /** Where a refused connection's reason goes (default: stderr). */
  log?: (line: string) => void;
  /** Connections served at once; more are closed at once (default 8). */
  maxConnections?: number;
}

/** Open devices one connection may hold (a host opens each key once). */
const MAX_HANDLES = 16;
/** Messages a connection may have waiting to be served before its socket is paused. */
const MAX_WAITING = 64;
/** A client that stops reading is dropped rather than buffered without end. */
const MAX_UNSENT_BYTES = 1 << 20;

const isLoopbackHost = (h: string): boolean =>
  h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);

/** SIM_HID_NOT_LOOPBACK unless `host` is loopback: the endpoint has no authentication. */
export function assertLoopbackHost(host: string): void {
  if (!isLoopbackHost(host))
    throw new CardpostError(
      'SIM_HID_NOT_LOOPBACK',
      `the simulated HID endpoint listens on loopback only, not on ${host}`,
      'use 127.0.0.1 (or ::1, localhost): it is a QA tool with no authentication, for programs on this machine',
    );
}

/**
 * Simulated HID card keys served to other processes over loopback TCP (docs/protocol.md §11.13).
 * This machine has no /dev/uhid and no hidraw, so a simulated key cannot appear to the OS; instead
 * this serves node-hid's API (device list, open, write, input reports, read errors) and the daemon's
 * `readers.hidEndpoint` points host/transports/hid/remote-node-hid.ts at it. Each connection is one
 * "program with node-hid": the OS-side behaviour (report-id byte, a pulled key's read error) is
 * SimNodeHid's, unchanged. A bad frame closes that connection only, with a logged reason.
 */
export class SimHidEndpoint {
  private readonly hid: SimNodeHid;
  private readonly connections = new Set<Connection>();
  private readonly log: (line: string) => void;
  private readonly maxConnections: number;
  private readonly onKeyChange = (): void => this.broadcastDevices();
  private server: Server | undefined;
  private closed = false;

  constructor(
    private readonly keys: SimHidKey[],
    opts: SimHidEndpointOptions = {},
  ) {
    if (keys.length > HID_ENDPOINT_MAX_DEVICES)
      throw new CardpostError(
        'SIM_HID_ENDPOINT_USAGE',
        `the HID endpoint serves at most ${HID_ENDPOINT_MAX_DEVICES} keys, not ${keys.length}`,
        `start another endpoint for the others`,
      );
    this.hid = new SimNodeHid(keys);
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.maxConnections = opts.maxConnections ?? 8;
  }

  /** Start serving on loopback (default 127.0.0.1, port 0 = any free port); resolves to the bound address. */
  async listen(opts: { host?: string; port?: number } = {}): Promise<{ host: string; port: number }> {
    const host = opts.host ?? '127.0.0.1';
    assertLoopbackHost(host);
    if (this.server || this.closed)
      throw new CardpostError(
        'SIM_HID_ENDPOINT_USAGE',
        this.closed ? 'the HID endpoint is closed' : 'the HID endpoint is already listening',
        'create another SimHidEndpoint',
      );
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: opts.port ?? 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log(`hid endpoint: ${e.message}`));
    for (const k of this.keys) k.on('plugged', this.onKeyChange).on('unplugged', this.onKeyChange);
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Programs connected now. */
  get clients(): number {
    return this.connections.size;
  }

  /** Stop serving: every connection is closed and its devices released (the keys stay as they are). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const k of this.keys) k.off('plugged', this.onKeyChange).off('unplugged', this.onKeyChange);
    for (const c of [...this.connections]) c.end();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const who = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.closed || this.connections.size >= this.maxConnections) {
      this.log(`hid endpoint: refusing connection from ${who}: ${this.maxConnections} clients already connected`);
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, who, this.hid, this.log, () => this.connections.delete(conn));
    this.connections.add(conn);
    conn.send({ type: 'HELLO', version: HID_ENDPOINT_VERSION });
    conn.send(this.devicesMessage());
  }

  private devicesMessage(): EndpointMessage {
    const devices: EndpointDevice[] = [];
    for (const d of this.hid.devices()) {
      if (!d.path) continue;
      devices.push({
        vendorId: d.vendorId,
        productId: d.productId,
        path: d.path,
        release: d.release,
        interface: d.interface,
        ...(d.serialNumber !== undefined ? { serialNumber: d.serialNumber } : {}),
        ...(d.manufacturer !== undefined ? { manufacturer: d.manufacturer } : {}),
        ...(d.product !== undefined ? { product: d.product } : {}),
        ...(d.usagePage !== undefined ? { usagePage: d.usagePage } : {}),
        ...(d.usage !== undefined ? { usage: d.usage } : {}),
      });
    }
    return { type: 'DEVICES', devices };
  }

  private broadcastDevices(): void {
    const msg = this.devicesMessage();
    for (const c of this.connections) c.send(msg);
  }
}

/** One connected program: its open devices, by the handle numbers it was given. */
class Connection {
  private readonly reader = new EndpointFrameReader();
  private readonly handles = new Map<number, SimHidAsyncDevice>();
  private nextHandle = 1;
  // Requests are served one after another, so answers leave in the order the requests came.
  private queue: Promise<void> = Promise.resolve();
  /** Messages received and not yet served. */
  private waiting = 0;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly who: string,
    private readonly hid: SimNodeHid,
    private readonly log: (line: string) => void,
    private readonly onEnd: () => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', (e) => this.log(`hid endpoint: connection from ${who}: ${e.message}`));
    socket.on('close', () => this.end());
  }

  send(msg: EndpointMessage): void {
    if (this.ended) return;
    if (this.socket.writableLength > MAX_UNSENT_BYTES) {
      this.drop(`it has not read ${this.socket.writableLength} bytes sent to it`);
      return;
    }
    this.socket.write(encodeEndpointFrame(msg));
  }

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    let messages: ClientMessage[];
    try {
      messages = this.reader.push(chunk).map((body) => decodeClientMessage(body));
    } catch (e) {
      const why = e instanceof CardpostError ? `${e.code}: ${e.message}` : String(e);
      this.drop(`bad frame (${why})`);
      return;
    }
    for (const m of messages) {
      // A client that sends faster than the keys answer is paused (TCP pushes back), not queued without end.
      if (++this.waiting >= MAX_WAITING) this.socket.pause();
      this.queue = this.queue
        .then(() => this.serve(m))
        // Serving never throws by design; if it ever did, that connection ends, never the process.
        .catch((e: unknown) => this.drop(`internal error (${errorText(e)})`))
        .finally(() => {
          if (--this.waiting < MAX_WAITING && !this.ended) this.socket.resume();
        });
    }
  }

  private async serve(m: ClientMessage): Promise<void> {
    if (this.ended) return;
    switch (m.type) {
      case 'OPEN': {
        if (this.handles.size >= MAX_HANDLES) {
          this.send({ type: 'FAILED', req: m.req, message: `too many open devices (at most ${MAX_HANDLES})` });
          return;
        }
        let device: SimHidAsyncDevice;
        try {
          device = await this.hid.HIDAsync.open(m.path);
        } catch (e) {
          this.send({ type: 'FAILED', req: m.req, message: errorText(e) });
          return;
        }
        const handle = this.nextHandle++;
        this.handles.set(handle, device);
        device.on('data', (data: Buffer) => this.send({ type: 'REPORT', handle, data: Uint8Array.from(data) }));
        device.on('error', (e: unknown) => this.send({ type: 'READ_ERROR', handle, message: errorText(e) }));
        this.send({ type: 'OPENED', req: m.req, handle });
        return;
      }
      case 'WRITE': {
        const device = this.handles.get(m.handle);
        if (!device) {
          this.send({ type: 'FAILED', req: m.req, message: 'Cannot write to hid device: device has been closed' });
          return;
        }
        try {
          const count = await device.write(Buffer.from(m.data));
          this.send({ type: 'WRITTEN', req: m.req, count });
        } catch (e) {
          this.send({ type: 'FAILED', req: m.req, message: errorText(e) });
        }
        return;
      }
      case 'CLOSE': {
        const device = this.handles.get(m.handle);
        this.handles.delete(m.handle);
        await device?.close();
        this.send({ type: 'CLOSED', req: m.req });
        return;
      }
    }
  }

  private drop(why: string): void {
    this.log(`hid endpoint: closing the connection from ${this.who}: ${why}`);
    this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const d of this.handles.values()) void d.close();
    this.handles.clear();
    this.socket.destroy();
    this.onEnd();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
