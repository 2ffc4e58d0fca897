/**
 * The user-mode network (what QEMU calls `-netdev user`): a virtual
 * Ethernet segment with a gateway that the guest reaches through its NIC.
 * The gateway answers ARP (RFC 826) and ping (RFC 792) itself, runs a DHCP
 * server (RFC 2131), and relays the guest's UDP and TCP to host sockets as a
 * NAT would, so the guest reaches whatever the host can without privileges.
 * The gateway address stands for the host's loopback; the DNS address
 * forwards to the host's nameserver.
 *
 * Frames for the guest are handed to `onReceive` as soon as they exist:
 * answers made on the spot (ARP, ping, DHCP, TCP acknowledgments) from
 * within `send` itself, so that they are queued for the guest before its
 * next instruction (a machine that skips idle time would otherwise let the
 * guest's timeouts pass first); the rest from socket callbacks and timers.
 */
import {
  ARP_REPLY,
  ARP_REQUEST,
  buildArp,
  parseArp,
} from './arp.js';
import type { NetBackend } from './backend.js';
import { Counters } from './counters.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DHCPACK, DHCPNAK, DHCPOFFER, DhcpServer } from './dhcp.js';
import {
  BROADCAST_MAC,
  buildEthernet,
  ETHERNET_MTU,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  isBroadcastMac,
  isGroupMac,
  macEquals,
  parseEthernet,
  type Mac,
} from './ethernet.js';
import { HostForwarder, type BoundHostForward, type HostForward } from './hostfwd.js';
import { answerEcho } from './icmp.js';
import {
  buildIpv4Packets,
  formatIpv4,
  inNetwork,
  IP_PROTOCOL_ICMP,
  IP_PROTOCOL_TCP,
  IP_PROTOCOL_UDP,
  isMulticastIpv4,
  LIMITED_BROADCAST,
  networkBroadcast,
  parseIpv4,
  parseIpv4Network,
  parseIpv4Packet,
  type Ipv4Network,
  type Ipv4Packet,
  type Ipv4Send,
} from './ipv4.js';
import type { GuestLink } from './link.js';
import { readNameserver } from './resolv-conf.js';
import { parseTcp } from './tcp.js';
import { TcpNat } from './tcp-nat.js';
import { buildUdp, parseUdp } from './udp.js';
import { UdpNat } from './udp-nat.js';

export { parseHostfwd, type HostForward, type HostFwd, type BoundHostForward } from './hostfwd.js';

export interface UserNetworkOptions {
  /** The virtual network, CIDR; default 10.0.2.0/24. */
  net?: string;
  /** The gateway, which stands for the host's loopback; default 10.0.2.2. */
  host?: string;
  /** The DNS address, forwarded to the host's nameserver; default 10.0.2.3. */
  dns?: string;
  /** The first address DHCP gives; default 10.0.2.15. */
  dhcpStart?: string;
  /** Host ports forwarded into the guest. */
  hostfwd?: readonly HostForward[];
  /** Where the host's nameserver is found; default /etc/resolv.conf. */
  resolvConf?: string;
  log?: (msg: string) => void;
}

/** QEMU's DHCP pool has 16 addresses. */
const DHCP_POOL_SIZE = 16;
/** RFC 2131 leaves the lease time to the server; a day, as QEMU gives. */
const DHCP_LEASE_SECONDS = 86400;
const DNS_PORT = 53;
/** Packets held per guest address while its MAC is being asked for. */
const ARP_PENDING_LIMIT = 64;
/** How often an unanswered ARP request for one address is repeated. */
const ARP_RETRY_MS = 1000;

export class UserNetwork implements NetBackend {
  onReceive: ((frame: Uint8Array) => void) | null = null;

  private readonly counters = new Counters();
  private readonly network: Ipv4Network;
  private readonly hostIp: number;
  private readonly dnsIp: number;
  private readonly broadcastIp: number;
  /** QEMU's convention: 52:55 and then the gateway's IPv4 address. */
  readonly gatewayMac: Mac;
  private readonly dhcp: DhcpServer;
  private readonly tcp: TcpNat;
  private readonly udp: UdpNat;
  private readonly forwarder: HostForwarder;
  private readonly nameserver: string;
  /** Guest addresses to MACs, learned from the guest's ARP and IPv4 frames and DHCP leases. */
  private readonly arpTable = new Map<number, Mac>();
  /** Packets for guest addresses whose MAC is not known yet, with when it was last asked for. */
  private readonly arpPending = new Map<number, { packets: Uint8Array[]; askedAt: number }>();
  private ipIdentification = 0;
  private closed = false;
  private readonly log: (msg: string) => void;

  constructor(options: UserNetworkOptions = {}) {
    this.log = options.log ?? (() => {});
    const net = parseIpv4Network(options.net ?? '10.0.2.0/24');
    if (net === null) throw new Error(`user network: bad net '${options.net}' (expected a.b.c.d/prefix, prefix at most 30)`);
    this.network = net;
    this.broadcastIp = networkBroadcast(net);
    // Unset addresses are QEMU's: .2, .3 and .15 of the network.
    const address = (text: string | undefined, fallbackLast: number, what: string): number => {
      const value = text === undefined ? (net.address | fallbackLast) >>> 0 : parseIpv4(text);
      if (value === null || !inNetwork(net, value) || value === net.address || value === this.broadcastIp) {
        const shown = text ?? `${formatIpv4((net.address | fallbackLast) >>> 0)} (the default)`;
        throw new Error(`user network: bad ${what} address ${shown} (must be a host address in ${formatIpv4(net.address)}/${net.prefixLength})`);
      }
      return value;
    };
    this.hostIp = address(options.host, 2, 'host');
    this.dnsIp = address(options.dns, 3, 'dns');
    const dhcpStart = address(options.dhcpStart, 15, 'dhcpStart');
    if (this.hostIp === this.dnsIp) throw new Error('user network: host and dns addresses must differ');
    this.gatewayMac = Uint8Array.of(0x52, 0x55, this.hostIp >>> 24, (this.hostIp >>> 16) & 0xff, (this.hostIp >>> 8) & 0xff, this.hostIp & 0xff);
    this.nameserver = readNameserver(options.resolvConf ?? '/etc/resolv.conf') ?? '127.0.0.1';

    const link: GuestLink = {
      sendIpv4: (p) => this.sendIpv4(p),
      count: (name, n) => this.counters.add(name, n),
      log: (message) => this.log(message),
    };
    this.dhcp = new DhcpServer({
      server: this.hostIp,
      dns: this.dnsIp,
      subnetMask: net.mask,
      broadcast: this.broadcastIp,
      poolStart: dhcpStart,
      // The pool stops before the broadcast address.
      poolSize: Math.max(1, Math.min(DHCP_POOL_SIZE, this.broadcastIp - dhcpStart)),
      reserved: [this.hostIp, this.dnsIp],
      leaseSeconds: DHCP_LEASE_SECONDS,
    });
    this.tcp = new TcpNat(link, (a, port) => this.mapDestination(a, port));
    this.udp = new UdpNat(link, (a, port) => this.mapDestination(a, port));
    this.forwarder = new HostForwarder(options.hostfwd ?? [], {
      link,
      tcp: this.tcp,
      udp: this.udp,
      aliasIp: this.hostIp,
      defaultGuestIp: dhcpStart,
    });
  }

  /** Counters by name: frames dropped and why, packets and bytes relayed. */
  get stats(): Record<string, number> {
    return this.counters.snapshot();
  }

  /** Resolves with the host listeners of the `hostfwd` rules once bound, or rejects naming the one that failed. */
  ready(): Promise<BoundHostForward[]> {
    return this.forwarder.ready();
  }

  /** A TCP connection is open, or a UDP datagram waits for its answer: the guest is waiting on the host. */
  busy(): boolean {
    return !this.closed && (this.tcp.hasOpenConnections() || this.udp.awaitingReply());
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    this.counters.add('eth.frames_from_guest');
    try {
      this.frameArrives(frame);
    } catch (e) {
      // A bug here must not take the machine down; the frame is lost like any other.
      this.counters.add('internal_errors');
      this.log(`user network: ${(e as Error).stack ?? String(e)}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forwarder.close();
    this.tcp.close();
    this.udp.close();
    this.arpPending.clear();
  }

  private frameArrives(frame: Uint8Array): void {
    const eth = parseEthernet(frame);
    if (eth === null) return this.drop('eth.truncated');
    if (!macEquals(eth.destination, this.gatewayMac) && !isBroadcastMac(eth.destination)) {
      // Multicast (IPv6 neighbour discovery, mDNS...) has no listener here.
      return this.drop(isGroupMac(eth.destination) ? 'eth.multicast_ignored' : 'eth.not_for_gateway');
    }
    if (isGroupMac(eth.source)) return this.drop('eth.group_source');
    switch (eth.etherType) {
      case ETHERTYPE_ARP:
        return this.arpArrives(eth.source, eth.payload);
      case ETHERTYPE_IPV4:
        return this.ipv4Arrives(eth.source, eth.payload);
      case ETHERTYPE_IPV6:
        return this.drop('eth.ipv6_ignored');
      default:
        return this.drop('eth.unknown_type');
    }
  }

  private drop(reason: string): void {
    this.counters.add(reason);
  }

  /** RFC 826 "Packet Reception": learn the sender, answer requests for the gateway's addresses. */
  private arpArrives(source: Mac, payload: Uint8Array): void {
    const arp = parseArp(payload);
    if (arp === null) return this.drop('arp.malformed');
    this.learn(arp.senderIp, arp.senderMac);
    if (arp.operation === ARP_REPLY) return this.counters.add('arp.replies_received');
    if (arp.operation !== ARP_REQUEST) return this.drop('arp.unknown_operation');
    // A request for the sender's own address announces it (RFC 5227 "ARP Announcement"): nothing to answer.
    if (arp.targetIp === arp.senderIp) return this.counters.add('arp.announcements');
    if (arp.targetIp !== this.hostIp && arp.targetIp !== this.dnsIp) return this.drop('arp.not_ours');
    this.counters.add('arp.replies_sent');
    const reply = buildArp({
      operation: ARP_REPLY,
      senderMac: this.gatewayMac,
      senderIp: arp.targetIp,
      targetMac: arp.senderMac,
      targetIp: arp.senderIp,
    });
    this.emit(buildEthernet(source, this.gatewayMac, ETHERTYPE_ARP, reply));
  }

  /** Remembers where a guest address is, and sends what waited for it. */
  private learn(ip: number, mac: Mac): void {
    if (ip === 0 || !inNetwork(this.network, ip) || ip === this.broadcastIp || ip === this.hostIp || ip === this.dnsIp) return;
    if (isGroupMac(mac)) return;
    const known = this.arpTable.get(ip);
    if (known === undefined || !macEquals(known, mac)) this.arpTable.set(ip, mac.slice());
    const pending = this.arpPending.get(ip);
    if (pending !== undefined) {
      this.arpPending.delete(ip);
      for (const packet of pending.packets) this.emit(buildEthernet(mac, this.gatewayMac, ETHERTYPE_IPV4, packet));
    }
  }

  private ipv4Arrives(source: Mac, payload: Uint8Array): void {
    const ip = parseIpv4Packet(payload);
    if (typeof ip === 'string') return this.drop(`ip.${ip}`);
    // Fragments are not reassembled: a guest on a 1500-byte link rarely sends any.
    if (ip.moreFragments || ip.fragmentOffset !== 0) return this.drop('ip.fragments_dropped');
    this.learn(ip.source, source);
    switch (ip.protocol) {
      case IP_PROTOCOL_UDP:
        return this.udpArrives(ip);
      case IP_PROTOCOL_TCP:
        return this.tcpArrives(ip);
      case IP_PROTOCOL_ICMP:
        return this.icmpArrives(ip);
      default:
        return this.drop('ip.unknown_protocol');
    }
  }

  private isBroadcastOrMulticast(address: number): boolean {
    return address === LIMITED_BROADCAST || address === this.broadcastIp || isMulticastIpv4(address);
  }

  private udpArrives(ip: Ipv4Packet): void {
    const udp = parseUdp(ip.payload, ip.source, ip.destination);
    if (typeof udp === 'string') return this.drop(`udp.${udp}`);
    if (udp.destinationPort === DHCP_SERVER_PORT && (ip.destination === this.hostIp || this.isBroadcastOrMulticast(ip.destination))) {
      return this.dhcpArrives(udp.payload);
    }
    if (this.isBroadcastOrMulticast(ip.destination)) return this.drop('udp.broadcast_dropped');
    if (ip.source === 0) return this.drop('udp.no_source_address');
    this.udp.datagramArrives(ip.source, ip.destination, udp);
  }

  private dhcpArrives(message: Uint8Array): void {
    const r = this.dhcp.handle(message);
    if (typeof r === 'string') return this.drop(`dhcp.${r}`);
    this.counters.add(r.type === DHCPOFFER ? 'dhcp.offers' : r.type === DHCPNAK ? 'dhcp.naks' : 'dhcp.acks');
    if (r.type === DHCPACK && r.yourAddress !== 0) this.learn(r.yourAddress, r.clientMac);
    const udp = buildUdp(this.hostIp, DHCP_SERVER_PORT, r.destinationIp, DHCP_CLIENT_PORT, r.message);
    // The client may have no address yet, so this goes straight to its MAC (or everyone's) without ARP.
    const mac = r.broadcast ? BROADCAST_MAC : r.clientMac;
    for (const packet of buildIpv4Packets({ source: this.hostIp, destination: r.destinationIp, protocol: IP_PROTOCOL_UDP, payload: udp }, this.nextIdentification(), ETHERNET_MTU)) {
      this.emit(buildEthernet(mac, this.gatewayMac, ETHERTYPE_IPV4, packet));
    }
  }

  private tcpArrives(ip: Ipv4Packet): void {
    const seg = parseTcp(ip.payload, ip.source, ip.destination);
    if (typeof seg === 'string') return this.drop(`tcp.${seg}`);
    if (this.isBroadcastOrMulticast(ip.destination) || ip.source === 0) return this.drop('tcp.bad_address');
    this.tcp.segmentArrives(ip.source, ip.destination, seg);
  }

  /** Echo requests to the gateway or DNS address are answered here (RFC 1122 3.2.2.6); other ICMP goes nowhere. */
  private icmpArrives(ip: Ipv4Packet): void {
    if (ip.destination !== this.hostIp && ip.destination !== this.dnsIp) return this.drop('icmp.not_for_gateway');
    const r = answerEcho(ip.payload);
    if (typeof r === 'string') return this.drop(`icmp.${r}`);
    this.counters.add('icmp.echo_replies');
    this.sendIpv4({ source: ip.destination, destination: ip.source, protocol: IP_PROTOCOL_ICMP, payload: r.reply });
  }

  /**
   * Where the guest's traffic to an address and port goes on the host: the
   * gateway is the host's loopback, the DNS address's port 53 the host's
   * nameserver, anything outside the virtual network itself; other addresses
   * of the virtual network, broadcasts and multicasts go nowhere.
   */
  private mapDestination(address: number, port: number): { host: string; port: number } | null {
    if (address === this.hostIp) return { host: '127.0.0.1', port };
    if (address === this.dnsIp) return port === DNS_PORT ? { host: this.nameserver, port } : null;
    if (address === 0 || inNetwork(this.network, address) || this.isBroadcastOrMulticast(address)) return null;
    return { host: formatIpv4(address), port };
  }

  private nextIdentification(): number {
    this.ipIdentification = (this.ipIdentification + 1) & 0xffff;
    return this.ipIdentification;
  }

  /** Sends an IPv4 packet to a guest address, asking for its MAC first if it is not known (RFC 826). */
  private sendIpv4(p: Ipv4Send): void {
    if (this.closed) return;
    const packets = buildIpv4Packets(p, this.nextIdentification(), ETHERNET_MTU);
    if (packets.length === 0) return this.drop('ip.too_large_for_guest');
    const mac = this.arpTable.get(p.destination);
    if (mac !== undefined) {
      for (const packet of packets) this.emit(buildEthernet(mac, this.gatewayMac, ETHERTYPE_IPV4, packet));
      return;
    }
    let pending = this.arpPending.get(p.destination);
    if (pending === undefined) {
      pending = { packets: [], askedAt: -Infinity };
      this.arpPending.set(p.destination, pending);
    }
    pending.packets.push(...packets);
    if (pending.packets.length > ARP_PENDING_LIMIT) {
      this.counters.add('arp.pending_dropped', pending.packets.length - ARP_PENDING_LIMIT);
      pending.packets.splice(0, pending.packets.length - ARP_PENDING_LIMIT);
    }
    const now = Date.now();
    if (now - pending.askedAt < ARP_RETRY_MS) return;
    pending.askedAt = now;
    this.counters.add('arp.requests_sent');
    const request = buildArp({
      operation: ARP_REQUEST,
      senderMac: this.gatewayMac,
      senderIp: this.hostIp,
      targetMac: new Uint8Array(6),
      targetIp: p.destination,
    });
    this.emit(buildEthernet(BROADCAST_MAC, this.gatewayMac, ETHERTYPE_ARP, request));
  }

  /** Hands a frame to the NIC. */
  private emit(frame: Uint8Array): void {
    if (this.closed || this.onReceive === null) return;
    this.counters.add('eth.frames_to_guest');
    try {
      this.onReceive(frame);
    } catch (e) {
      // The NIC's failure must not unwind into a socket callback (where nothing would catch it).
      this.counters.add('nic_errors');
      this.log(`user network: the NIC failed to take a frame: ${(e as Error).stack ?? String(e)}`);
    }
  }
}
