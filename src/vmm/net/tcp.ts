/**
 * The TCP segment format (RFC 9293 3.1): header fields, the MSS option
 * (RFC 9293 3.7.1), the checksum over the IPv4 pseudo-header, and modular
 * sequence number comparison (RFC 9293 3.4).
 */
import { transportChecksum } from './checksum.js';
import { IP_PROTOCOL_TCP } from './ipv4.js';

export const TCP_HEADER_LENGTH = 20;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

const OPTION_END = 0;
const OPTION_NOP = 1;
const OPTION_MSS = 2;

export interface TcpSegment {
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** From the MSS option (SYN segments only), else null. */
  mss: number | null;
  /** Views the packet. */
  payload: Uint8Array;
}

export type TcpParseError = 'truncated' | 'data-offset' | 'checksum';

/** Parses and checks a segment carried in an IPv4 payload between `source` and `destination`. */
export function parseTcp(ipPayload: Uint8Array, source: number, destination: number): TcpSegment | TcpParseError {
  if (ipPayload.length < TCP_HEADER_LENGTH) return 'truncated';
  const headerLength = (ipPayload[12] >>> 4) * 4;
  if (headerLength < TCP_HEADER_LENGTH || headerLength > ipPayload.length) return 'data-offset';
  if (transportChecksum(source, destination, IP_PROTOCOL_TCP, ipPayload, 0, ipPayload.length) !== 0) return 'checksum';
  const flags = ipPayload[13] & 0x3f;
  return {
    sourcePort: (ipPayload[0] << 8) | ipPayload[1],
    destinationPort: (ipPayload[2] << 8) | ipPayload[3],
    seq: readUint32(ipPayload, 4),
    ack: readUint32(ipPayload, 8),
    flags,
    window: (ipPayload[14] << 8) | ipPayload[15],
    mss: flags & TCP_SYN ? parseMssOption(ipPayload.subarray(TCP_HEADER_LENGTH, headerLength)) : null,
    payload: ipPayload.subarray(headerLength),
  };
}

/** The MSS option's value if present and well formed; other options (window scale, SACK, timestamps) are skipped. */
function parseMssOption(options: Uint8Array): number | null {
  let i = 0;
  while (i < options.length) {
    const kind = options[i];
    if (kind === OPTION_END) break;
    if (kind === OPTION_NOP) { i++; continue; }
    if (i + 1 >= options.length) break;
    const length = options[i + 1];
    if (length < 2 || i + length > options.length) break;
    if (kind === OPTION_MSS && length === 4) return (options[i + 2] << 8) | options[i + 3];
    i += length;
  }
  return null;
}

export interface TcpBuild {
  source: number;
  sourcePort: number;
  destination: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** Sends the MSS option (on a SYN). */
  mss?: number;
  payload?: Uint8Array;
}

/** Builds a segment with its checksum. */
export function buildTcp(s: TcpBuild): Uint8Array {
  const headerLength = TCP_HEADER_LENGTH + (s.mss !== undefined ? 4 : 0);
  const payload = s.payload ?? new Uint8Array(0);
  const bytes = new Uint8Array(headerLength + payload.length);
  bytes[0] = s.sourcePort >>> 8;
  bytes[1] = s.sourcePort & 0xff;
  bytes[2] = s.destinationPort >>> 8;
  bytes[3] = s.destinationPort & 0xff;
  writeUint32(bytes, 4, s.seq);
  writeUint32(bytes, 8, s.ack);
  bytes[12] = (headerLength / 4) << 4;
  bytes[13] = s.flags;
  bytes[14] = s.window >>> 8;
  bytes[15] = s.window & 0xff;
  if (s.mss !== undefined) {
    bytes[20] = OPTION_MSS;
    bytes[21] = 4;
    bytes[22] = s.mss >>> 8;
    bytes[23] = s.mss & 0xff;
  }
  bytes.set(payload, headerLength);
  const checksum = transportChecksum(s.source, s.destination, IP_PROTOCOL_TCP, bytes, 0, bytes.length);
  bytes[16] = checksum >>> 8;
  bytes[17] = checksum & 0xff;
  return bytes;
}

function readUint32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function writeUint32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

// RFC 9293 3.4: sequence numbers compare modulo 2^32.
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** How far `to` is ahead of `from` modulo 2^32, as a signed distance. */
export function seqDistance(from: number, to: number): number {
  return (to - from) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The sequence space a segment occupies: data, plus one for SYN and one for FIN (RFC 9293 3.4). */
export function segmentLength(s: TcpSegment): number {
  return s.payload.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
}
