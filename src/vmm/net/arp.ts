/**
 * The ARP packet for IPv4 over Ethernet (RFC 826).
 */
import type { Mac } from './ethernet.js';
import { readIpv4, writeIpv4 } from './ipv4.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const HARDWARE_ETHERNET = 1;
const PROTOCOL_IPV4 = 0x0800;
export const ARP_PACKET_LENGTH = 28;

export interface ArpPacket {
  operation: number;
  senderMac: Mac;
  senderIp: number;
  targetMac: Mac;
  targetIp: number;
}

/** Parses an Ethernet/IPv4 ARP packet; null for other hardware or protocol types or a short packet. */
export function parseArp(bytes: Uint8Array): ArpPacket | null {
  if (bytes.length < ARP_PACKET_LENGTH) return null;
  const hardware = (bytes[0] << 8) | bytes[1];
  const protocol = (bytes[2] << 8) | bytes[3];
  if (hardware !== HARDWARE_ETHERNET || protocol !== PROTOCOL_IPV4 || bytes[4] !== 6 || bytes[5] !== 4) return null;
  return {
    operation: (bytes[6] << 8) | bytes[7],
    senderMac: bytes.slice(8, 14),
    senderIp: readIpv4(bytes, 14),
    targetMac: bytes.slice(18, 24),
    targetIp: readIpv4(bytes, 24),
  };
}

export function buildArp(p: ArpPacket): Uint8Array {
  const bytes = new Uint8Array(ARP_PACKET_LENGTH);
  bytes[1] = HARDWARE_ETHERNET;
  bytes[2] = PROTOCOL_IPV4 >>> 8;
  bytes[3] = PROTOCOL_IPV4 & 0xff;
  bytes[4] = 6;
  bytes[5] = 4;
  bytes[7] = p.operation;
  bytes.set(p.senderMac, 8);
  writeIpv4(bytes, 14, p.senderIp);
  bytes.set(p.targetMac, 18);
  writeIpv4(bytes, 24, p.targetIp);
  return bytes;
}
