/**
 * UDP through the user network. Each flow (guest address and port, far end
 * address and port) gets a host `node:dgram` socket of its own; replies on it
 * go back to the guest as if they came from the address the guest sent to.
 * Flows forwarded from a host listener share the listener's socket instead.
 * A flow idle for a while is forgotten and its socket closed (there is no
 * connection to end in UDP, RFC 768; RFC 4787 REQ-5 suggests at least 2 minutes
 * for NATs in general, but DNS lookups are the usual guest traffic and are short).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { IP_PROTOCOL_UDP } from './ipv4.js';
import type { GuestLink } from './link.js';
import { buildUdp, type UdpDatagram } from './udp.js';

/** Where a datagram for an address and port goes on the host; null if nowhere (it is dropped). */
export type UdpDestinationMap = (address: number, port: number) => { host: string; port: number } | null;

export const UDP_IDLE_MS = 60_000;
/** The most a UDP datagram in IPv4 can carry: 65535 less the IPv4 and UDP headers. */
const MAX_UDP_PAYLOAD = 65535 - 20 - 8;
/** How long an unanswered datagram counts as a request waiting for its answer (a resolver's usual timeout). */
const AWAIT_REPLY_MS = 5000;
/** Flows kept at once; the least recently used goes first beyond this. */
const MAX_FLOWS = 512;

interface UdpFlow {
  key: string;
  guestIp: number;
  guestPort: number;
  remoteIp: number;
  remotePort: number;
  socket: Socket;
  /** Whether the socket is this flow's own (else a host listener's, which stays open). */
  ownsSocket: boolean;
  peerHost: string;
  peerPort: number;
  idle: NodeJS.Timeout;
  /** When the guest last sent on this flow, if nothing came back since (else null). */
  unansweredSince: number | null;
}

function flowKey(guestIp: number, guestPort: number, remoteIp: number, remotePort: number): string {
  return `${guestIp}:${guestPort}>${remoteIp}:${remotePort}`;
}

export class UdpNat {
  /** By key, least recently used first (a Map keeps insertion order; a used flow is moved to the end). */
  private readonly flows = new Map<string, UdpFlow>();
  private closed = false;

  constructor(
    private readonly link: GuestLink,
    private readonly mapDestination: UdpDestinationMap,
    private readonly idleMs = UDP_IDLE_MS,
  ) {}

  get flowCount(): number {
    return this.flows.size;
  }

  /** Whether a datagram from the guest went out recently and nothing has come back yet. */
  awaitingReply(now = Date.now()): boolean {
    for (const flow of this.flows.values()) {
      if (flow.unansweredSince !== null && now - flow.unansweredSince < AWAIT_REPLY_MS) return true;
    }
    return false;
  }

  /** A datagram from the guest at `source` to `destination`. */
  datagramArrives(source: number, destination: number, datagram: UdpDatagram): void {
    if (this.closed) return;
    const key = flowKey(source, datagram.sourcePort, destination, datagram.destinationPort);
    let flow = this.flows.get(key);
    if (flow === undefined) {
      const target = this.mapDestination(destination, datagram.destinationPort);
      if (target === null) {
        this.link.count('udp.no_route');
        return;
      }
      flow = this.openFlow(key, source, datagram.sourcePort, destination, datagram.destinationPort, target.host, target.port);
    }
    this.touch(flow);
    if (flow.unansweredSince === null) flow.unansweredSince = Date.now();
    const f = flow;
    this.link.count('udp.to_host');
    // A copy: the frame belongs to the NIC, and the socket sends later.
    f.socket.send(Buffer.from(datagram.payload), f.peerPort, f.peerHost, (e) => {
      if (e) {
        this.link.count('udp.send_errors');
        this.link.log(`udp: send to ${f.peerHost}:${f.peerPort} failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
      }
    });
  }

  /**
   * A datagram that a host listener (a port forward) received from `peer`,
   * for the guest at `guestIp:guestPort`. The guest sees it come from
   * `aliasIp` and the peer's port, and its replies there go back to the peer.
   */
  acceptFromHost(listener: Socket, message: Buffer, peer: RemoteInfo, guestIp: number, guestPort: number, aliasIp: number): void {
    if (this.closed) return;
    const key = flowKey(guestIp, guestPort, aliasIp, peer.port);
    let flow = this.flows.get(key);
    if (flow === undefined || flow.socket !== listener || flow.peerHost !== peer.address) {
      if (flow !== undefined) this.closeFlow(flow);
      flow = {
        key,
        guestIp,
        guestPort,
        remoteIp: aliasIp,
        remotePort: peer.port,
        socket: listener,
        ownsSocket: false,
        peerHost: peer.address,
        peerPort: peer.port,
        idle: this.idleTimer(key),
        unansweredSince: null,
      };
      this.add(flow);
    }
    this.touch(flow);
    this.toGuest(flow, message);
  }

  private openFlow(key: string, guestIp: number, guestPort: number, remoteIp: number, remotePort: number, host: string, port: number): UdpFlow {
    const socket = createSocket({ type: isIPv6(host.split('%')[0]) ? 'udp6' : 'udp4' });
    const flow: UdpFlow = { key, guestIp, guestPort, remoteIp, remotePort, socket, ownsSocket: true, peerHost: host, peerPort: port, idle: this.idleTimer(key), unansweredSince: null };
    socket.on('message', (message: Buffer, peer: RemoteInfo) => {
      // Only the far end this flow talks to may answer through it (RFC 4787 4.3, "address and port-dependent filtering").
      if (peer.port !== port || (!isIPv6(host.split('%')[0]) && peer.address !== host)) {
        this.link.count('udp.foreign_source');
        return;
      }
      if (this.flows.get(key) !== flow) return;
      this.touch(flow);
      this.toGuest(flow, message);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.link.count('udp.socket_errors');
      this.link.log(`udp: socket for ${host}:${port}: ${e.code ?? e.message}`);
      this.closeFlow(flow);
    });
    this.link.count('udp.flows_opened');
    this.add(flow);
    return flow;
  }

  private add(flow: UdpFlow): void {
    this.flows.set(flow.key, flow);
    if (this.flows.size > MAX_FLOWS) {
      const oldest = this.flows.values().next().value;
      if (oldest !== undefined) this.closeFlow(oldest);
    }
  }

  private idleTimer(key: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      const flow = this.flows.get(key);
      if (flow !== undefined && flow.idle === t) this.closeFlow(flow);
    }, this.idleMs);
    t.unref(); // never keeps Node alive
    return t;
  }

  /** Marks a flow used: its idle timer restarts and it becomes the most recently used. */
  private touch(flow: UdpFlow): void {
    flow.idle.refresh();
    this.flows.delete(flow.key);
    this.flows.set(flow.key, flow);
  }

  private toGuest(flow: UdpFlow, message: Uint8Array): void {
    if (message.length > MAX_UDP_PAYLOAD) {
      this.link.count('udp.too_large_for_guest');
      return;
    }
    flow.unansweredSince = null;
    this.link.count('udp.to_guest');
    this.link.sendIpv4({
      source: flow.remoteIp,
      destination: flow.guestIp,
      protocol: IP_PROTOCOL_UDP,
      payload: buildUdp(flow.remoteIp, flow.remotePort, flow.guestIp, flow.guestPort, message),
    });
  }

  private closeFlow(flow: UdpFlow): void {
    clearTimeout(flow.idle);
    if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
    if (flow.ownsSocket) {
      try {
        flow.socket.close();
      } catch {
        // already closed
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const flow of [...this.flows.values()]) this.closeFlow(flow);
  }
}
