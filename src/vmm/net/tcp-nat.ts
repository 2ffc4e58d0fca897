/**
 * TCP through the user network: the table of connections by guest and far
 * end address/port, new connections from guest SYNs (relayed to host
 * sockets), connections forwarded from host listeners, and resets for
 * segments that belong to no connection (RFC 9293 3.10.7.1 "If the state is CLOSED").
 */
import { createConnection, type Socket } from 'node:net';
import { IP_PROTOCOL_TCP } from './ipv4.js';
import type { GuestLink } from './link.js';
import { buildTcp, segmentLength, seqAdd, TCP_ACK, TCP_RST, TCP_SYN, type TcpSegment } from './tcp.js';
import { TcpConnection, type TcpEndpoints } from './tcp-connection.js';

/** Where a guest connection to an address and port goes on the host; null if nowhere (it is reset). */
export type TcpDestinationMap = (address: number, port: number) => { host: string; port: number } | null;

/** Ports given to forwarded connections as their source, as the guest sees them (RFC 6335 dynamic range). */
const FIRST_ALIAS_PORT = 49152;

function key(e: TcpEndpoints): string {
  return `${e.guestIp}:${e.guestPort}>${e.remoteIp}:${e.remotePort}`;
}

export class TcpNat {
  private readonly connections = new Map<string, TcpConnection>();
  /** Every host socket still open, so that close() can end them all. */
  private readonly sockets = new Set<Socket>();
  private nextAliasPort = FIRST_ALIAS_PORT;
  private closed = false;

  constructor(
    private readonly link: GuestLink,
    private readonly mapDestination: TcpDestinationMap,
  ) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Whether any connection is open (or opening); one in TIME-WAIT waits for nothing. */
  hasOpenConnections(): boolean {
    for (const c of this.connections.values()) if (!c.isTimeWait) return true;
    return false;
  }

  /** A segment from the guest (`source`, the guest, to `destination`). */
  segmentArrives(source: number, destination: number, seg: TcpSegment): void {
    if (this.closed) return;
    const endpoints: TcpEndpoints = { guestIp: source, guestPort: seg.sourcePort, remoteIp: destination, remotePort: seg.destinationPort };
    const k = key(endpoints);
    let connection = this.connections.get(k);
    const isSyn = (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
    if (connection !== undefined && connection.isTimeWait && isSyn) {
      // RFC 9293 3.10.7.4 (TIME-WAIT) allows a new incarnation to start with a SYN.
      connection.finish(false);
      connection = undefined;
    }
    if (connection !== undefined) {
      connection.segmentArrives(seg);
      return;
    }
    if (seg.flags & TCP_RST) return;
    if (!isSyn) {
      this.link.count('tcp.no_connection');
      this.reset(endpoints, seg);
      return;
    }
    const target = this.mapDestination(destination, seg.destinationPort);
    if (target === null) {
      this.link.count('tcp.no_route');
      this.reset(endpoints, seg);
      return;
    }
    const socket = createConnection({ host: target.host, port: target.port, allowHalfOpen: true });
    socket.setNoDelay(true);
    this.track(socket);
    this.link.count('tcp.connects');
    connection = TcpConnection.fromGuestSyn(this.link, endpoints, seg, socket, (c) => this.forget(k, c));
    this.connections.set(k, connection);
  }

  /**
   * A connection accepted by a host listener, forwarded to the guest at
   * `guestIp:guestPort`; the guest sees it come from `aliasIp` (the gateway).
   */
  acceptFromHost(socket: Socket, guestIp: number, guestPort: number, aliasIp: number): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const endpoints: TcpEndpoints = { guestIp, guestPort, remoteIp: aliasIp, remotePort: this.aliasPort(guestIp, guestPort, aliasIp, socket.remotePort) };
    socket.setNoDelay(true);
    this.track(socket);
    this.link.count('tcp.forwarded');
    const k = key(endpoints);
    this.connections.set(k, TcpConnection.fromHost(this.link, endpoints, socket, (c) => this.forget(k, c)));
  }

  /** The peer's own port when it is free as a source towards the guest, else the next free alias port. */
  private aliasPort(guestIp: number, guestPort: number, aliasIp: number, preferred: number | undefined): number {
    const free = (port: number): boolean => !this.connections.has(key({ guestIp, guestPort, remoteIp: aliasIp, remotePort: port }));
    if (preferred !== undefined && preferred > 0 && free(preferred)) return preferred;
    for (let i = 0; i < 65536 - FIRST_ALIAS_PORT; i++) {
      const port = this.nextAliasPort;
      this.nextAliasPort = port === 65535 ? FIRST_ALIAS_PORT : port + 1;
      if (free(port)) return port;
    }
    return FIRST_ALIAS_PORT;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private forget(k: string, c: TcpConnection): void {
    if (this.connections.get(k) === c) this.connections.delete(k);
  }

  /**
   * RFC 9293 3.10.7.1: a segment for no connection is answered with a reset:
   * <SEQ=SEG.ACK><CTL=RST> if it has an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
   */
  private reset(e: TcpEndpoints, seg: TcpSegment): void {
    const hasAck = (seg.flags & TCP_ACK) !== 0;
    const payload = buildTcp({
      source: e.remoteIp,
      sourcePort: e.remotePort,
      destination: e.guestIp,
      destinationPort: e.guestPort,
      seq: hasAck ? seg.ack : 0,
      ack: hasAck ? 0 : seqAdd(seg.seq, segmentLength(seg)),
      flags: hasAck ? TCP_RST : TCP_RST | TCP_ACK,
      window: 0,
    });
    this.link.count('tcp.rst_sent');
    this.link.sendIpv4({ source: e.remoteIp, destination: e.guestIp, protocol: IP_PROTOCOL_TCP, payload, dontFragment: true });
  }

  /** Drops every connection and host socket without telling the guest. */
  close(): void {
    this.closed = true;
    for (const c of [...this.connections.values()]) c.finish();
    this.connections.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}
