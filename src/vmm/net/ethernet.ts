/**
 * Ethernet II framing (IEEE 802.3 with an EtherType, RFC 894 for IPv4):
 * destination MAC, source MAC, EtherType, payload; the NIC strips the FCS.
 */

export const ETHERNET_HEADER_LENGTH = 14;
/** Frames shorter than this (without FCS) are padded with zeros, as the 802.3 minimum of 64 bytes requires. */
export const ETHERNET_MIN_FRAME = 60;
/** The payload limit of a standard frame: the IPv4 MTU (RFC 894). */
export const ETHERNET_MTU = 1500;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

export type Mac = Uint8Array;

export const BROADCAST_MAC: Mac = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export interface EthernetFrame {
  destination: Mac;
  source: Mac;
  etherType: number;
  payload: Uint8Array;
}

/** Splits a frame; null if it is too short to hold a header. The arrays view the frame. */
export function parseEthernet(frame: Uint8Array): EthernetFrame | null {
  if (frame.length < ETHERNET_HEADER_LENGTH) return null;
  return {
    destination: frame.subarray(0, 6),
    source: frame.subarray(6, 12),
    etherType: (frame[12] << 8) | frame[13],
    payload: frame.subarray(ETHERNET_HEADER_LENGTH),
  };
}

/** Builds a frame, zero-padded to the 60-byte minimum. */
export function buildEthernet(destination: Mac, source: Mac, etherType: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(Math.max(ETHERNET_MIN_FRAME, ETHERNET_HEADER_LENGTH + payload.length));
  frame.set(destination, 0);
  frame.set(source, 6);
  frame[12] = etherType >>> 8;
  frame[13] = etherType & 0xff;
  frame.set(payload, ETHERNET_HEADER_LENGTH);
  return frame;
}

/** Group addresses have the I/G bit, the low bit of the first octet, set (IEEE 802 48-bit addresses). */
export function isGroupMac(mac: Mac): boolean {
  return (mac[0] & 1) !== 0;
}

export function isBroadcastMac(mac: Mac): boolean {
  return mac.every((b) => b === 0xff);
}

export function macEquals(a: Mac, b: Mac): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Parses a NIC's MAC written as six colon-separated hex bytes (52:54:00:12:34:56); throws with what is wrong. */
export function parseMac(s: string): Mac {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(s);
  if (m === null) throw new Error(`mac=${s}: not a MAC address (six hex bytes separated by colons, such as 52:54:00:12:34:56)`);
  const mac = Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
  if (isGroupMac(mac)) throw new Error(`mac=${s}: a multicast address (bit 0 of the first byte set) cannot be a NIC's address`);
  return mac;
}

export function formatMac(mac: Mac): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}
