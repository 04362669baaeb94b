/**
 * Canonical CBOR for cardpost: RFC 8949 §4.2.1 core deterministic encoding (for integer and text
 * map keys identical to CTAP2's canonical form), a strict decoder that accepts only such bytes, and
 * typed readers that validate decoded protocol messages. Normative text: docs/protocol.md (CBOR part).
 */
export { CborTagged, CBOR_UINT_MAX, CBOR_NINT_MIN } from './types.js';
export type { CborKey, CborMap, CborValue } from './types.js';
export {
  encodeCanonical,
  compareKeys,
  compareBytes,
  encodeKey,
  describeJs,
  DEFAULT_ENCODE_MAX_DEPTH,
  MAX_DEPTH_CAP,
} from './encode.js';
export type { EncodeOptions } from './encode.js';
export { decodeCanonical, DEFAULT_DECODE_LIMITS } from './decode.js';
export type { DecodeLimits } from './decode.js';
export { CBOR_ERRORS } from './codes.js';
export type { CborErrorCode } from './codes.js';
export {
  MapReader,
  OptionalFields,
  buildMap,
  describeCborType,
  utf8Length,
  asUint,
  asInt,
  asUint64,
  asBytes,
  asText,
  asBool,
  asArray,
  asOneOf,
  asMap,
} from './reader.js';
export type { IntRange, LengthRange, TextOptions, MapReaderOptions, DoneOptions } from './reader.js';
export { toDiagnostic } from './diagnostic.js';
export { halfBitsExact, halfToNumber, shortestFloatWidth } from './float.js';
