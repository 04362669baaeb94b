/**
 * Pure framing codecs: serial POS-terminal frames (SOF, header CRC-8, payload CRC-32) and the
 * CTAPHID-style 64-byte HID packetiser. The links that use them (retransmission, channels, time-outs)
 * live in host/ and device-sim/. Normative text: docs/protocol.md (framing part).
 */
export { crc8Smbus, crc16CcittFalse, crc32 } from './crc.js';
export {
  SOF,
  FRAME_DATA,
  FRAME_ACK,
  FRAME_NAK,
  FrameTypes,
  MAX_PAYLOAD,
  FRAME_HEADER_SIZE,
  FRAME_CRC_SIZE,
  FRAME_OVERHEAD,
  MAX_FRAME_SIZE,
  FRAME_ERRORS,
  encodeFrame,
  encodeData,
  encodeAck,
  encodeNak,
  FrameDecoder,
} from './serial-frame.js';
export type { Frame, FrameType, FrameEvent, FrameErrorCode, FrameDecoderStats } from './serial-frame.js';
export {
  HID_REPORT_SIZE,
  HID_INIT_DATA_SIZE,
  HID_CONT_DATA_SIZE,
  HID_MAX_SEQ,
  HID_MAX_MESSAGE,
  HID_BROADCAST_CID,
  HID_TYPE_INIT,
  HID_PROTOCOL_VERSION,
  HidCommand,
  HidErrorByte,
  KeepaliveStatus,
  HidCapability,
  HID_ERRORS,
  packetize,
  withReportId,
  initRequestPacket,
  parseInitRequest,
  encodeInitResponse,
  parseInitResponse,
  errorPacket,
  parseErrorPayload,
  keepalivePacket,
  parseKeepalivePayload,
  HidReassembler,
} from './hid-packet.js';
export type { HidErrorCode, HidMessage, HidEvent, HidReassemblerOptions, InitResponse } from './hid-packet.js';
export * from './hid-key.js';
