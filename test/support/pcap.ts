/**
 * A minimal classic pcap file (LINKTYPE_RAW: IPv4 packets, no link layer) with one TCP segment
 * per payload, so a capture tool such as tshark can dissect bytes a test built. Each payload gets
 * its own connection (source port) so no reassembly across payloads is needed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const LINKTYPE_RAW = 101;

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function tcpIpv4Packet(payload: Uint8Array, srcPort: number, dstPort: number): Uint8Array {
  const src = [127, 0, 0, 1];
  const dst = [127, 0, 0, 2];
  const tcp = new Uint8Array(20 + payload.length);
  const t = new DataView(tcp.buffer);
  t.setUint16(0, srcPort);
  t.setUint16(2, dstPort);
  t.setUint32(4, 1); // sequence
  t.setUint32(8, 1); // acknowledgement
  tcp[12] = 5 << 4; // header length 20
  tcp[13] = 0x18; // PSH, ACK
  t.setUint16(14, 65535); // window
  tcp.set(payload, 20);
  const pseudo = new Uint8Array(12 + tcp.length);
  pseudo.set(src, 0);
  pseudo.set(dst, 4);
  pseudo[9] = 6;
  new DataView(pseudo.buffer).setUint16(10, tcp.length);
  pseudo.set(tcp, 12);
  t.setUint16(16, checksum(pseudo));
  const ip = new Uint8Array(20 + tcp.length);
  const v = new DataView(ip.buffer);
  ip[0] = 0x45;
  v.setUint16(2, ip.length);
  ip[8] = 64; // TTL
  ip[9] = 6; // TCP
  ip.set(src, 12);
  ip.set(dst, 16);
  v.setUint16(10, checksum(ip.subarray(0, 20)));
  ip.set(tcp, 20);
  return ip;
}

/** The pcap file holding `payloads`, each as one TCP segment to `port` from its own source port. */
export function pcapOfTcpPayloads(payloads: readonly Uint8Array[], port: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = new DataView(new ArrayBuffer(24));
  head.setUint32(0, 0xa1b2c3d4, true);
  head.setUint16(4, 2, true);
  head.setUint16(6, 4, true);
  head.setUint32(16, 65535, true);
  head.setUint32(20, LINKTYPE_RAW, true);
  parts.push(new Uint8Array(head.buffer));
  payloads.forEach((payload, i) => {
    const packet = tcpIpv4Packet(payload, 40000 + i, port);
    const rec = new DataView(new ArrayBuffer(16));
    rec.setUint32(0, 1_700_000_000 + i, true);
    rec.setUint32(8, packet.length, true);
    rec.setUint32(12, packet.length, true);
    parts.push(new Uint8Array(rec.buffer), packet);
  });
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The port the ISO 8583 captures use; tshark is told to dissect it as ISO 8583. */
export const ISO8583_PORT = 8583;

interface TsharkPacket {
  _source: { layers: Record<string, unknown> };
}

/**
 * Wireshark's ISO 8583 dissector over a capture (tshark, Debian): each packet's layers as tshark's
 * JSON gives them. Big-endian 2-byte lengths, BCD or ASCII numbers, binary fields as bytes.
 */
export function tsharkIso8583(pcap: Uint8Array, charset: 'bcd' | 'ascii'): Record<string, unknown>[] {
  const dir = mkdtempSync(join(tmpdir(), 'cardpost-iso8583-'));
  try {
    const file = join(dir, 'link.pcap');
    writeFileSync(file, pcap);
    const out = execFileSync(
      'tshark',
      [
        '-r',
        file,
        '-d',
        `tcp.port==${ISO8583_PORT},iso8583`,
        '-o',
        'iso8583.len_endian:bigendian',
        '-o',
        `iso8583.charset:${charset}`,
        '-o',
        'iso8583.binencode:bin',
        '-T',
        'json',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
    );
    return (JSON.parse(out) as TsharkPacket[]).map((p) => p._source.layers);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
