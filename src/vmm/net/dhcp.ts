/**
 * The DHCP server of the user network (RFC 2131, options from RFC 2132): it
 * leases addresses from a small pool to clients by hardware address, and
 * tells them the netmask, the router (the gateway) and the DNS server.
 */
import { formatMac, type Mac } from './ethernet.js';
import { readIpv4, writeIpv4 } from './ipv4.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

const BOOTREQUEST = 1;
const BOOTREPLY = 2;
/** RFC 2131 2: the fixed fields end at 236, then the magic cookie 99.130.83.99 (RFC 2132 2). */
const OPTIONS_OFFSET = 240;
const MAGIC_COOKIE = 0x63825363;
/** RFC 2131 2 / RFC 1542: BOOTP messages are at least 300 bytes; some clients drop shorter ones. */
const MIN_MESSAGE_LENGTH = 300;
const FLAG_BROADCAST = 0x8000;

// RFC 2132 option codes.
const OPTION_PAD = 0;
const OPTION_SUBNET_MASK = 1;
const OPTION_ROUTER = 3;
const OPTION_DNS = 6;
const OPTION_BROADCAST_ADDRESS = 28;
const OPTION_REQUESTED_ADDRESS = 50;
const OPTION_LEASE_TIME = 51;
const OPTION_MESSAGE_TYPE = 53;
const OPTION_SERVER_ID = 54;
const OPTION_END = 255;

/** RFC 2132 9.6 "DHCP Message Type". */
export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

export interface DhcpConfig {
  /** The server identifier, which is also the router (the gateway). */
  server: number;
  dns: number;
  subnetMask: number;
  broadcast: number;
  /** The first address of the pool and how many there are. */
  poolStart: number;
  poolSize: number;
  /** Addresses in the pool's range that are never leased (the gateway's own). */
  reserved: readonly number[];
  leaseSeconds: number;
}

export interface DhcpMessage {
  operation: number;
  transactionId: number;
  flags: number;
  clientAddress: number;
  relayAddress: number;
  clientMac: Mac;
  /** Option code to value (the first occurrence). */
  options: Map<number, Uint8Array>;
}

export type DhcpParseError = 'truncated' | 'not-ethernet' | 'cookie' | 'options';

/** Parses a BOOTP/DHCP message (RFC 2131 2, options per RFC 2132 2). */
export function parseDhcp(bytes: Uint8Array): DhcpMessage | DhcpParseError {
  if (bytes.length < OPTIONS_OFFSET) return 'truncated';
  if (bytes[1] !== 1 || bytes[2] !== 6) return 'not-ethernet';
  if (readIpv4(bytes, 236) !== MAGIC_COOKIE) return 'cookie';
  const options = new Map<number, Uint8Array>();
  let i = OPTIONS_OFFSET;
  for (;;) {
    if (i >= bytes.length) break; // a missing end option is tolerated
    const code = bytes[i];
    if (code === OPTION_END) break;
    if (code === OPTION_PAD) { i++; continue; }
    if (i + 1 >= bytes.length) return 'options';
    const length = bytes[i + 1];
    if (i + 2 + length > bytes.length) return 'options';
    if (!options.has(code)) options.set(code, bytes.slice(i + 2, i + 2 + length));
    i += 2 + length;
  }
  return {
    operation: bytes[0],
    transactionId: readIpv4(bytes, 4),
    flags: (bytes[10] << 8) | bytes[11],
    clientAddress: readIpv4(bytes, 12),
    relayAddress: readIpv4(bytes, 24),
    clientMac: bytes.slice(28, 34),
    options,
  };
}

export interface DhcpReply {
  /** The UDP payload. */
  message: Uint8Array;
  /** Where to send it: 255.255.255.255 and the broadcast MAC, or the client. */
  destinationIp: number;
  broadcast: boolean;
  clientMac: Mac;
  type: number;
  /** The address given to the client (0 for a NAK or an INFORM answer). */
  yourAddress: number;
}

/** Why a message got no answer (for the counters). */
export type DhcpIgnored =
  | DhcpParseError
  | 'not-request'
  | 'no-message-type'
  | 'other-server'
  | 'pool-exhausted'
  | 'no-address'
  | 'release'
  | 'decline'
  | 'unknown-type';

interface Option {
  code: number;
  value: Uint8Array;
}

function addressOption(code: number, address: number): Option {
  const value = new Uint8Array(4);
  writeIpv4(value, 0, address);
  return { code, value };
}

function optionAddress(m: DhcpMessage, code: number): number | null {
  const v = m.options.get(code);
  return v !== undefined && v.length === 4 ? readIpv4(v, 0) : null;
}

export class DhcpServer {
  /** Client hardware address (as text) to its leased address. */
  private readonly leases = new Map<string, number>();

  constructor(private readonly config: DhcpConfig) {}

  /** The answer to a message from a client (UDP payload to port 67), or why there is none. */
  handle(bytes: Uint8Array): DhcpReply | DhcpIgnored {
    const m = parseDhcp(bytes);
    if (typeof m === 'string') return m;
    if (m.operation !== BOOTREQUEST) return 'not-request';
    const typeOption = m.options.get(OPTION_MESSAGE_TYPE);
    // Plain BOOTP (RFC 951) clients are not served.
    if (typeOption === undefined || typeOption.length !== 1) return 'no-message-type';
    const client = formatMac(m.clientMac);
    switch (typeOption[0]) {
      case DHCPDISCOVER: {
        // RFC 2131 4.3.1: offer the client's current address, else the one it asks for if free, else any free one.
        const address = this.leases.get(client) ?? this.freeAddress(optionAddress(m, OPTION_REQUESTED_ADDRESS));
        if (address === null) return 'pool-exhausted';
        this.leases.set(client, address);
        return this.reply(m, DHCPOFFER, address);
      }
      case DHCPREQUEST: {
        // RFC 2131 4.3.2: a server identifier that is not ours means the client chose another server.
        const serverId = optionAddress(m, OPTION_SERVER_ID);
        if (serverId !== null && serverId !== this.config.server) return 'other-server';
        // SELECTING and INIT-REBOOT name the address in option 50; RENEWING and REBINDING in 'ciaddr'.
        const requested = optionAddress(m, OPTION_REQUESTED_ADDRESS) ?? m.clientAddress;
        if (requested === 0) return 'no-address';
        const current = this.leases.get(client);
        // An address we have no record of (a client that remembers a lease from before a restart)
        // is granted when it is a free pool address; anything else is refused.
        if (current === requested || (current === undefined && this.isFree(requested))) {
          this.leases.set(client, requested);
          return this.reply(m, DHCPACK, requested);
        }
        return this.reply(m, DHCPNAK, 0);
      }
      case DHCPRELEASE:
        // RFC 2131 4.4.6: the lease is given up; no answer.
        if (this.leases.get(client) === m.clientAddress) this.leases.delete(client);
        return 'release';
      case DHCPDECLINE:
        // RFC 2131 4.3.3: the client found the address in use. Nothing else is on this network, so
        // the lease is simply dropped and the client will DISCOVER again.
        this.leases.delete(client);
        return 'decline';
      case DHCPINFORM:
        // RFC 2131 4.3.5: configuration only, no lease, to the address the client already has.
        return this.reply(m, DHCPACK, 0);
      default:
        return 'unknown-type';
    }
  }

  /** The address leased to a client, if any. */
  leaseOf(mac: Mac): number | undefined {
    return this.leases.get(formatMac(mac));
  }

  private inPool(address: number): boolean {
    return address >= this.config.poolStart && address < this.config.poolStart + this.config.poolSize;
  }

  private isFree(address: number): boolean {
    if (!this.inPool(address) || this.config.reserved.includes(address)) return false;
    for (const leased of this.leases.values()) if (leased === address) return false;
    return true;
  }

  private freeAddress(preferred: number | null): number | null {
    if (preferred !== null && this.isFree(preferred)) return preferred;
    for (let i = 0; i < this.config.poolSize; i++) {
      const address = (this.config.poolStart + i) >>> 0;
      if (this.isFree(address)) return address;
    }
    return null;
  }

  /** Builds an OFFER, ACK or NAK (RFC 2131 4.3.1 table 3 for the fields, 4.1 for where it goes). */
  private reply(m: DhcpMessage, type: number, yourAddress: number): DhcpReply {
    const c = this.config;
    const inform = type === DHCPACK && yourAddress === 0;
    const options: Option[] = [
      { code: OPTION_MESSAGE_TYPE, value: Uint8Array.of(type) },
      addressOption(OPTION_SERVER_ID, c.server),
    ];
    if (type !== DHCPNAK) {
      if (!inform) {
        const lease = new Uint8Array(4);
        writeIpv4(lease, 0, c.leaseSeconds);
        options.push({ code: OPTION_LEASE_TIME, value: lease });
      }
      options.push(
        addressOption(OPTION_SUBNET_MASK, c.subnetMask),
        addressOption(OPTION_ROUTER, c.server),
        addressOption(OPTION_DNS, c.dns),
        addressOption(OPTION_BROADCAST_ADDRESS, c.broadcast),
      );
    }
    let length = OPTIONS_OFFSET + 1;
    for (const o of options) length += 2 + o.value.length;
    const bytes = new Uint8Array(Math.max(length, MIN_MESSAGE_LENGTH));
    bytes[0] = BOOTREPLY;
    bytes[1] = 1; // htype Ethernet
    bytes[2] = 6; // hlen
    writeIpv4(bytes, 4, m.transactionId);
    bytes[10] = m.flags >>> 8;
    bytes[11] = m.flags & 0xff;
    // 'ciaddr' is echoed in an ACK only (table 3); 'yiaddr' is the lease.
    if (type === DHCPACK) writeIpv4(bytes, 12, m.clientAddress);
    writeIpv4(bytes, 16, yourAddress);
    if (type !== DHCPNAK) writeIpv4(bytes, 20, c.server); // 'siaddr'
    writeIpv4(bytes, 24, m.relayAddress);
    bytes.set(m.clientMac, 28);
    writeIpv4(bytes, 236, MAGIC_COOKIE);
    let i = OPTIONS_OFFSET;
    for (const o of options) {
      bytes[i] = o.code;
      bytes[i + 1] = o.value.length;
      bytes.set(o.value, i + 2);
      i += 2 + o.value.length;
    }
    bytes[i] = OPTION_END;
    // RFC 2131 4.1: a NAK is broadcast; a client that has an address ('ciaddr') gets a unicast;
    // one that has none yet gets a broadcast (which is what the broadcast flag asks for, and
    // what clients listening on a raw socket, like busybox udhcpc, accept either way).
    const unicast = type !== DHCPNAK && m.clientAddress !== 0 && (m.flags & FLAG_BROADCAST) === 0;
    return {
      message: bytes,
      destinationIp: unicast ? m.clientAddress : 0xffffffff,
      broadcast: !unicast,
      clientMac: m.clientMac,
      type,
      yourAddress,
    };
  }
}
