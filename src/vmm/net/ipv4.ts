/**
 * IPv4 (RFC 791): addresses as unsigned 32-bit numbers, header parsing with
 * the sanity checks of RFC 1122 3.2.1, and building packets towards the
 * guest, fragmented when they exceed the link MTU (RFC 791 2.3 "Fragmentation").
 */
import { internetChecksum } from './checksum.js';

export const IPV4_HEADER_LENGTH = 20;
export const IP_PROTOCOL_ICMP = 1;
export const IP_PROTOCOL_TCP = 6;
export const IP_PROTOCOL_UDP = 17;
/** RFC 1700 / RFC 1122 3.2.1.7: the TTL hosts start with. */
export const DEFAULT_TTL = 64;

const FLAG_DONT_FRAGMENT = 0x4000;
const FLAG_MORE_FRAGMENTS = 0x2000;
const FRAGMENT_OFFSET_MASK = 0x1fff;

/** Dotted-quad text to a number; null unless it is four decimal octets. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const octet = Number(p);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

export function formatIpv4(address: number): string {
  return [address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff].join('.');
}

export function readIpv4(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

export function writeIpv4(bytes: Uint8Array, offset: number, address: number): void {
  bytes[offset] = address >>> 24;
  bytes[offset + 1] = (address >>> 16) & 0xff;
  bytes[offset + 2] = (address >>> 8) & 0xff;
  bytes[offset + 3] = address & 0xff;
}

/** An IPv4 network in CIDR notation (RFC 4632). */
export interface Ipv4Network {
  address: number;
  prefixLength: number;
  mask: number;
}

/** `10.0.2.0/24` to a network; null if malformed. Host bits in the address are cleared. */
export function parseIpv4Network(text: string): Ipv4Network | null {
  const slash = text.indexOf('/');
  const address = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  const prefixText = slash < 0 ? '24' : text.slice(slash + 1);
  if (address === null || !/^\d{1,2}$/.test(prefixText)) return null;
  const prefixLength = Number(prefixText);
  if (prefixLength > 30) return null; // room for a network, gateway, DNS and a guest is needed
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return { address: (address & mask) >>> 0, prefixLength, mask };
}

export function inNetwork(net: Ipv4Network, address: number): boolean {
  return ((address & net.mask) >>> 0) === net.address;
}

/** The directed broadcast address of a network (RFC 919, RFC 1122 3.2.1.3). */
export function networkBroadcast(net: Ipv4Network): number {
  return (net.address | ~net.mask) >>> 0;
}

export const LIMITED_BROADCAST = 0xffffffff;

/** Multicast (224.0.0.0/4, RFC 5771). */
export function isMulticastIpv4(address: number): boolean {
  return address >>> 28 === 0xe;
}

export interface Ipv4Packet {
  headerLength: number;
  totalLength: number;
  identification: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  source: number;
  destination: number;
  /** The payload, viewing the packet (any link-layer padding beyond the total length is cut off). */
  payload: Uint8Array;
}

export type Ipv4ParseError = 'truncated' | 'version' | 'header-length' | 'total-length' | 'checksum';

/** Validates and splits an IPv4 packet (RFC 1122 3.2.1.1-3.2.1.2: version, header checksum). */
export function parseIpv4Packet(bytes: Uint8Array): Ipv4Packet | Ipv4ParseError {
  if (bytes.length < IPV4_HEADER_LENGTH) return 'truncated';
  if (bytes[0] >>> 4 !== 4) return 'version';
  const headerLength = (bytes[0] & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH || headerLength > bytes.length) return 'header-length';
  const totalLength = (bytes[2] << 8) | bytes[3];
  if (totalLength < headerLength || totalLength > bytes.length) return 'total-length';
  if (internetChecksum(bytes, 0, headerLength) !== 0) return 'checksum';
  const flagsAndOffset = (bytes[6] << 8) | bytes[7];
  return {
    headerLength,
    totalLength,
    identification: (bytes[4] << 8) | bytes[5],
    dontFragment: (flagsAndOffset & FLAG_DONT_FRAGMENT) !== 0,
    moreFragments: (flagsAndOffset & FLAG_MORE_FRAGMENTS) !== 0,
    fragmentOffset: (flagsAndOffset & FRAGMENT_OFFSET_MASK) * 8,
    ttl: bytes[8],
    protocol: bytes[9],
    source: readIpv4(bytes, 12),
    destination: readIpv4(bytes, 16),
    payload: bytes.subarray(headerLength, totalLength),
  };
}

export interface Ipv4Send {
  source: number;
  destination: number;
  protocol: number;
  payload: Uint8Array;
  /** Sets DF (RFC 791 3.1); such a packet larger than the MTU is not sent. */
  dontFragment?: boolean;
}

/** A 20-byte header (no options) with its checksum. */
function buildHeader(p: Ipv4Send, identification: number, flagsAndOffset: number, payloadLength: number): Uint8Array {
  const packet = new Uint8Array(IPV4_HEADER_LENGTH + payloadLength);
  const totalLength = packet.length;
  packet[0] = 0x45;
  packet[2] = totalLength >>> 8;
  packet[3] = totalLength & 0xff;
  packet[4] = identification >>> 8;
  packet[5] = identification & 0xff;
  packet[6] = flagsAndOffset >>> 8;
  packet[7] = flagsAndOffset & 0xff;
  packet[8] = DEFAULT_TTL;
  packet[9] = p.protocol;
  writeIpv4(packet, 12, p.source);
  writeIpv4(packet, 16, p.destination);
  const checksum = internetChecksum(packet, 0, IPV4_HEADER_LENGTH);
  packet[10] = checksum >>> 8;
  packet[11] = checksum & 0xff;
  return packet;
}

/**
 * The packets carrying `p` over a link of `mtu` bytes: one, or fragments whose
 * data lengths are multiples of 8 (RFC 791 3.2 "Fragmentation and Reassembly").
 * Empty if DF is set and it does not fit.
 */
export function buildIpv4Packets(p: Ipv4Send, identification: number, mtu: number): Uint8Array[] {
  const length = p.payload.length;
  if (IPV4_HEADER_LENGTH + length <= mtu) {
    const packet = buildHeader(p, identification, p.dontFragment ? FLAG_DONT_FRAGMENT : 0, length);
    packet.set(p.payload, IPV4_HEADER_LENGTH);
    return [packet];
  }
  if (p.dontFragment) return [];
  const perFragment = (mtu - IPV4_HEADER_LENGTH) & ~7;
  const packets: Uint8Array[] = [];
  for (let offset = 0; offset < length; offset += perFragment) {
    const size = Math.min(perFragment, length - offset);
    const more = offset + size < length ? FLAG_MORE_FRAGMENTS : 0;
    const packet = buildHeader(p, identification, more | (offset / 8), size);
    packet.set(p.payload.subarray(offset, offset + size), IPV4_HEADER_LENGTH);
    packets.push(packet);
  }
  return packets;
}
