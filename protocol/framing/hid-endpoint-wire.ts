import { decodeCanonical, encodeCanonical, asMap, buildMap, type CborValue, type MapReader } from '../cbor/index.js';
import { DecodeError, EncodeError } from '../errors.js';

/**
 * The QA endpoint of the simulated HID card key (docs/protocol.md §11.13): node-hid's API carried
 * over a loopback TCP connection, so a program outside the test process (the daemon, through
 * host/transports/hid/remote-node-hid.ts) can use simulated keys (device-sim/hid/hid-endpoint.ts).
 * Frames are a 2-byte big-endian length, then one canonical CBOR map with integer keys; key 0 is the
 * message type. Pure codec: both ends decode strictly, and a bad frame ends the connection.
 */

export const HID_ENDPOINT_VERSION = 1;
/** Largest frame body. A DEVICES list of the simulator's keys (8 at most, their strings short and fixed) fits; a list of 8 keys with every string at its 256-byte maximum would not, and is refused. */
export const HID_ENDPOINT_MAX_FRAME = 8192;
export const HID_ENDPOINT_MAX_DEVICES = 8;
/** node-hid write(): report id + 64-byte report, at most. */
export const HID_ENDPOINT_MAX_WRITE = 65;
export const HID_ENDPOINT_REPORT_SIZE = 64;
const MAX_TEXT = 256;
const U32 = { min: 0, max: 0xffff_ffff };

/** The fields of node-hid's `Device` the wire carries (all of those a HID key has). */
export interface EndpointDevice {
  vendorId: number;
  productId: number;
  path: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  release: number;
  interface: number;
  usagePage?: number;
  usage?: number;
}

export type EndpointMessage =
  // endpoint → client
  | { type: 'HELLO'; version: number }
  | { type: 'DEVICES'; devices: EndpointDevice[] }
  | { type: 'OPENED'; req: number; handle: number }
  | { type: 'WRITTEN'; req: number; count: number }
  | { type: 'CLOSED'; req: number }
  | { type: 'FAILED'; req: number; message: string }
  | { type: 'REPORT'; handle: number; data: Uint8Array }
  | { type: 'READ_ERROR'; handle: number; message: string };

export type ClientMessage =
  | { type: 'OPEN'; req: number; path: string }
  | { type: 'WRITE'; req: number; handle: number; data: Uint8Array }
  | { type: 'CLOSE'; req: number; handle: number };

/** Type codes (key 0). Endpoint messages are 1–8, client messages 16–18. */
export const ENDPOINT_TYPES = {
  HELLO: 1,
  DEVICES: 2,
  OPENED: 3,
  WRITTEN: 4,
  CLOSED: 5,
  FAILED: 6,
  REPORT: 7,
  READ_ERROR: 8,
} as const;
export const CLIENT_TYPES = { OPEN: 16, WRITE: 17, CLOSE: 18 } as const;

const DEVICE_KEYS = {
  vendorId: 1,
  productId: 2,
  path: 3,
  serialNumber: 4,
  manufacturer: 5,
  product: 6,
  release: 7,
  interface: 8,
  usagePage: 9,
  usage: 10,
} as const;

const HINT = 'the peer does not speak the HID endpoint wire of docs/protocol.md §11.13; check both ends are cardpost';

function bad(code: 'HID_ENDPOINT_FRAME_LENGTH' | 'HID_ENDPOINT_BAD_MESSAGE', message: string): DecodeError {
  return new DecodeError(code, message, HINT);
}

/** One frame: length prefix + canonical CBOR body. Throws EncodeError when the body would exceed the limit. */
export function encodeEndpointFrame(msg: EndpointMessage | ClientMessage): Uint8Array {
  const body = encodeCanonical(toMap(msg));
  if (body.length > HID_ENDPOINT_MAX_FRAME)
    throw new EncodeError(
      'HID_ENDPOINT_FRAME_LENGTH',
      `${msg.type} message of ${body.length} bytes exceeds ${HID_ENDPOINT_MAX_FRAME}`,
      'send fewer or shorter device entries',
    );
  const out = new Uint8Array(2 + body.length);
  out[0] = body.length >> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
}

function toMap(msg: EndpointMessage | ClientMessage): Map<number, CborValue> {
  const code =
    (ENDPOINT_TYPES as Record<string, number>)[msg.type] ?? (CLIENT_TYPES as Record<string, number>)[msg.type];
  const m = new Map<number, CborValue>([[0, code!]]);
  switch (msg.type) {
    case 'HELLO':
      m.set(1, msg.version);
      break;
    case 'DEVICES':
      m.set(1, msg.devices.map(deviceToMap));
      break;
    case 'OPENED':
      m.set(1, msg.req).set(2, msg.handle);
      break;
    case 'WRITTEN':
      m.set(1, msg.req).set(2, msg.count);
      break;
    case 'CLOSED':
      m.set(1, msg.req);
      break;
    case 'FAILED':
      m.set(1, msg.req).set(2, clip(msg.message));
      break;
    case 'REPORT':
      m.set(1, msg.handle).set(2, msg.data);
      break;
    case 'READ_ERROR':
      m.set(1, msg.handle).set(2, clip(msg.message));
      break;
    case 'OPEN':
      m.set(1, msg.req).set(2, msg.path);
      break;
    case 'WRITE':
      m.set(1, msg.req).set(2, msg.handle).set(3, msg.data);
      break;
    case 'CLOSE':
      m.set(1, msg.req).set(2, msg.handle);
      break;
  }
  return m;
}

/** Error texts are node-hid's, shown to people: cut to the wire's limit rather than refuse to send them. */
function clip(s: string): string {
  let out = s.slice(0, MAX_TEXT);
  while (new TextEncoder().encode(out).length > MAX_TEXT) out = out.slice(0, -1);
  return out;
}

function deviceToMap(d: EndpointDevice): Map<number, CborValue> {
  return buildMap([
    [DEVICE_KEYS.vendorId, d.vendorId],
    [DEVICE_KEYS.productId, d.productId],
    [DEVICE_KEYS.path, d.path],
    [DEVICE_KEYS.serialNumber, d.serialNumber],
    [DEVICE_KEYS.manufacturer, d.manufacturer],
    [DEVICE_KEYS.product, d.product],
    [DEVICE_KEYS.release, d.release],
    [DEVICE_KEYS.interface, d.interface],
    [DEVICE_KEYS.usagePage, d.usagePage],
    [DEVICE_KEYS.usage, d.usage],
  ]) as Map<number, CborValue>;
}

function readDevice(v: CborValue, what: string): EndpointDevice {
  const r = asMap(v, what);
  const u16 = { min: 0, max: 0xffff };
  const text = { minLength: 0, maxLength: MAX_TEXT };
  const d: EndpointDevice = {
    vendorId: r.uint(DEVICE_KEYS.vendorId, u16),
    productId: r.uint(DEVICE_KEYS.productId, u16),
    path: r.text(DEVICE_KEYS.path, { minLength: 1, maxLength: MAX_TEXT }),
    release: r.uint(DEVICE_KEYS.release, u16),
    interface: r.int(DEVICE_KEYS.interface, { min: -1, max: 255 }),
  };
  const serialNumber = r.opt.text(DEVICE_KEYS.serialNumber, text);
  const manufacturer = r.opt.text(DEVICE_KEYS.manufacturer, text);
  const product = r.opt.text(DEVICE_KEYS.product, text);
  const usagePage = r.opt.uint(DEVICE_KEYS.usagePage, u16);
  const usage = r.opt.uint(DEVICE_KEYS.usage, u16);
  r.done();
  return {
    ...d,
    ...(serialNumber !== undefined ? { serialNumber } : {}),
    ...(manufacturer !== undefined ? { manufacturer } : {}),
    ...(product !== undefined ? { product } : {}),
    ...(usagePage !== undefined ? { usagePage } : {}),
    ...(usage !== undefined ? { usage } : {}),
  };
}

/** Decode one frame body sent by the endpoint. Throws DecodeError (HID_ENDPOINT_BAD_MESSAGE) on anything else. */
export function decodeEndpointMessage(body: Uint8Array): EndpointMessage {
  return strictly(body, 'endpoint message', (r, type) => {
    switch (type) {
      case ENDPOINT_TYPES.HELLO:
        return { type: 'HELLO', version: r.uint(1, { min: 1, max: 255 }) };
      case ENDPOINT_TYPES.DEVICES:
        return { type: 'DEVICES', devices: r.arrayOf(1, readDevice, { maxLength: HID_ENDPOINT_MAX_DEVICES }) };
      case ENDPOINT_TYPES.OPENED:
        return { type: 'OPENED', req: r.uint(1, U32), handle: r.uint(2, U32) };
      case ENDPOINT_TYPES.WRITTEN:
        return { type: 'WRITTEN', req: r.uint(1, U32), count: r.uint(2, { min: 1, max: HID_ENDPOINT_MAX_WRITE }) };
      case ENDPOINT_TYPES.CLOSED:
        return { type: 'CLOSED', req: r.uint(1, U32) };
      case ENDPOINT_TYPES.FAILED:
        return { type: 'FAILED', req: r.uint(1, U32), message: r.text(2, { maxLength: MAX_TEXT }) };
      case ENDPOINT_TYPES.REPORT:
        return { type: 'REPORT', handle: r.uint(1, U32), data: r.bytes(2, { length: HID_ENDPOINT_REPORT_SIZE }) };
      case ENDPOINT_TYPES.READ_ERROR:
        return { type: 'READ_ERROR', handle: r.uint(1, U32), message: r.text(2, { maxLength: MAX_TEXT }) };
      default:
        return undefined;
    }
  });
}

/** Decode one frame body sent by a client. Throws DecodeError (HID_ENDPOINT_BAD_MESSAGE) on anything else. */
export function decodeClientMessage(body: Uint8Array): ClientMessage {
  return strictly(body, 'client message', (r, type) => {
    switch (type) {
      case CLIENT_TYPES.OPEN:
        return { type: 'OPEN', req: r.uint(1, U32), path: r.text(2, { minLength: 1, maxLength: MAX_TEXT }) };
      case CLIENT_TYPES.WRITE:
        return {
          type: 'WRITE',
          req: r.uint(1, U32),
          handle: r.uint(2, U32),
          data: r.bytes(3, { minLength: 1, maxLength: HID_ENDPOINT_MAX_WRITE }),
        };
      case CLIENT_TYPES.CLOSE:
        return { type: 'CLOSE', req: r.uint(1, U32), handle: r.uint(2, U32) };
      default:
        return undefined;
    }
  });
}

function strictly<T>(body: Uint8Array, what: string, read: (r: MapReader, type: number) => T | undefined): T {
  try {
    const r = asMap(decodeCanonical(body, { maxDepth: 4 }), what);
    const type = r.uint(0, { max: 255 });
    const msg = read(r, type);
    if (msg === undefined) throw bad('HID_ENDPOINT_BAD_MESSAGE', `${what}: unknown type ${type}`);
    r.done();
    return msg;
  } catch (e) {
    if (e instanceof DecodeError && e.code.startsWith('HID_ENDPOINT_')) throw e;
    if (e instanceof DecodeError)
      throw bad('HID_ENDPOINT_BAD_MESSAGE', `${what} is not valid (${e.code}): ${e.message}`);
    throw e;
  }
}

/**
 * Splits a TCP byte stream into frame bodies. Holds at most one frame; a length of 0 or above
 * HID_ENDPOINT_MAX_FRAME throws HID_ENDPOINT_FRAME_LENGTH (the stream cannot be resynchronised: the
 * caller closes the connection).
 */
export class EndpointFrameReader {
  private buf = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const out: Uint8Array[] = [];
    let p = 0;
    while (joined.length - p >= 2) {
      const len = (joined[p]! << 8) | joined[p + 1]!;
      if (len === 0 || len > HID_ENDPOINT_MAX_FRAME)
        throw bad('HID_ENDPOINT_FRAME_LENGTH', `frame length ${len} is outside 1–${HID_ENDPOINT_MAX_FRAME}`);
      if (joined.length - p - 2 < len) break;
      out.push(joined.slice(p + 2, p + 2 + len));
      p += 2 + len;
    }
    this.buf = joined.slice(p);
    return out;
  }

  /** Bytes of an incomplete frame held (for tests of the memory bound). */
  get pending(): number {
    return this.buf.length;
  }
}
