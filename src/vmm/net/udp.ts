/** The UDP header (RFC 768) and its checksum over the IPv4 pseudo-header. */
import { transportChecksum } from './checksum.js';
import { IP_PROTOCOL_UDP } from './ipv4.js';

export const UDP_HEADER_LENGTH = 8;

export interface UdpDatagram {
  sourcePort: number;
  destinationPort: number;
  /** Views the packet. */
  payload: Uint8Array;
}

export type UdpParseError = 'truncated' | 'length' | 'checksum';

/**
 * Parses the UDP datagram in an IPv4 payload. The UDP length must fit the IP
 * payload (extra bytes are ignored); a checksum of 0 means none was computed
 * (RFC 768 "Fields").
 */
export function parseUdp(ipPayload: Uint8Array, source: number, destination: number): UdpDatagram | UdpParseError {
  if (ipPayload.length < UDP_HEADER_LENGTH) return 'truncated';
  const length = (ipPayload[4] << 8) | ipPayload[5];
  if (length < UDP_HEADER_LENGTH || length > ipPayload.length) return 'length';
  const checksum = (ipPayload[6] << 8) | ipPayload[7];
  if (checksum !== 0 && transportChecksum(source, destination, IP_PROTOCOL_UDP, ipPayload, 0, length) !== 0) return 'checksum';
  return {
    sourcePort: (ipPayload[0] << 8) | ipPayload[1],
    destinationPort: (ipPayload[2] << 8) | ipPayload[3],
    payload: ipPayload.subarray(UDP_HEADER_LENGTH, length),
  };
}

/** Builds a UDP datagram with its checksum (0 is sent as 0xffff, RFC 768). */
export function buildUdp(source: number, sourcePort: number, destination: number, destinationPort: number, payload: Uint8Array): Uint8Array {
  const length = UDP_HEADER_LENGTH + payload.length;
  const bytes = new Uint8Array(length);
  bytes[0] = sourcePort >>> 8;
  bytes[1] = sourcePort & 0xff;
  bytes[2] = destinationPort >>> 8;
  bytes[3] = destinationPort & 0xff;
  bytes[4] = length >>> 8;
  bytes[5] = length & 0xff;
  bytes.set(payload, UDP_HEADER_LENGTH);
  const checksum = transportChecksum(source, destination, IP_PROTOCOL_UDP, bytes, 0, length) || 0xffff;
  bytes[6] = checksum >>> 8;
  bytes[7] = checksum & 0xff;
  return bytes;
}
