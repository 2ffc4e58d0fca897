/**
 * Port forwarding from the host into the guest (QEMU's `hostfwd=`): each
 * rule listens on a host address and port, and relays what arrives to a
 * guest address and port, the guest seeing it come from the gateway.
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { formatIpv4, parseIpv4 } from './ipv4.js';
import type { GuestLink } from './link.js';
import type { TcpNat } from './tcp-nat.js';
import type { UdpNat } from './udp-nat.js';

export interface HostForward {
  proto: 'tcp' | 'udp';
  /** The host address to listen on; all addresses if absent. */
  hostAddr?: string;
  /** 0 lets the host choose a free port. */
  hostPort: number;
  /** The guest address; the first DHCP address if absent. */
  guestAddr?: string;
  guestPort: number;
}

/** The same, by the name the command line uses. */
export type HostFwd = HostForward;

/** A forward as bound: the address and port the host listens on. */
export interface BoundHostForward {
  proto: 'tcp' | 'udp';
  hostAddr: string;
  hostPort: number;
  guestAddr: string;
  guestPort: number;
}

function parsePort(text: string, what: string, spec: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535 || (!allowZero && Number(text) === 0)) {
    throw new Error(`hostfwd '${spec}': bad ${what} '${text}' (expected a number from ${allowZero ? 0 : 1} to 65535)`);
  }
  return Number(text);
}

function parseAddress(text: string, what: string, spec: string): string | undefined {
  if (text === '') return undefined;
  if (parseIpv4(text) === null) throw new Error(`hostfwd '${spec}': bad ${what} '${text}' (expected an IPv4 address like 127.0.0.1)`);
  return text;
}

/**
 * Parses QEMU's `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`
 * (the protocol defaults to tcp, as in QEMU). Throws an Error naming the bad part.
 */
export function parseHostfwd(spec: string): HostForward {
  const colon = spec.indexOf(':');
  if (colon < 0) throw new Error(`hostfwd '${spec}': expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`);
  const protoText = spec.slice(0, colon);
  if (protoText !== '' && protoText !== 'tcp' && protoText !== 'udp') {
    throw new Error(`hostfwd '${spec}': bad protocol '${protoText}' (expected tcp or udp)`);
  }
  const rest = spec.slice(colon + 1);
  const dash = rest.indexOf('-');
  if (dash < 0) throw new Error(`hostfwd '${spec}': missing '-' between the host part and the guest part`);
  const hostPart = rest.slice(0, dash);
  const guestPart = rest.slice(dash + 1);
  const hostColon = hostPart.lastIndexOf(':');
  if (hostColon < 0) throw new Error(`hostfwd '${spec}': host part '${hostPart}' must be [hostaddr]:hostport`);
  const guestColon = guestPart.lastIndexOf(':');
  if (guestColon < 0) throw new Error(`hostfwd '${spec}': guest part '${guestPart}' must be [guestaddr]:guestport`);
  const rule: HostForward = {
    proto: protoText === 'udp' ? 'udp' : 'tcp',
    hostPort: parsePort(hostPart.slice(hostColon + 1), 'host port', spec, true),
    guestPort: parsePort(guestPart.slice(guestColon + 1), 'guest port', spec, false),
  };
  const hostAddr = parseAddress(hostPart.slice(0, hostColon), 'host address', spec);
  const guestAddr = parseAddress(guestPart.slice(0, guestColon), 'guest address', spec);
  if (hostAddr !== undefined) rule.hostAddr = hostAddr;
  if (guestAddr !== undefined) rule.guestAddr = guestAddr;
  return rule;
}

export interface HostForwarderParts {
  link: GuestLink;
  tcp: TcpNat;
  udp: UdpNat;
  /** The gateway: forwarded traffic comes from it, as the guest sees it. */
  aliasIp: number;
  /** The guest address of rules that name none. */
  defaultGuestIp: number;
}

/** The listeners of a list of forwarding rules. */
export class HostForwarder {
  private readonly servers: Server[] = [];
  private readonly sockets: DgramSocket[] = [];
  private readonly bound: Promise<BoundHostForward[]>;

  constructor(rules: readonly HostForward[], parts: HostForwarderParts) {
    this.bound = Promise.all(rules.map((r) => this.listen(r, parts)));
    // Whoever asks through ready() sees a failure; nobody asking is no unhandled rejection.
    this.bound.catch(() => {});
  }

  /** Resolves with the bound listeners once all listen, or rejects with the first that cannot. */
  ready(): Promise<BoundHostForward[]> {
    return this.bound;
  }

  private listen(rule: HostForward, parts: HostForwarderParts): Promise<BoundHostForward> {
    const guestIp = rule.guestAddr !== undefined ? (parseIpv4(rule.guestAddr) ?? parts.defaultGuestIp) : parts.defaultGuestIp;
    const hostAddr = rule.hostAddr ?? '0.0.0.0';
    const describe = `${rule.proto}:${hostAddr}:${rule.hostPort}-${formatIpv4(guestIp)}:${rule.guestPort}`;
    const bound = (port: number): BoundHostForward => ({ proto: rule.proto, hostAddr, hostPort: port, guestAddr: formatIpv4(guestIp), guestPort: rule.guestPort });
    return new Promise((resolve, reject) => {
      // The rejection is the report (ready() gives it to the caller): no log line as well.
      const failed = (e: NodeJS.ErrnoException): void => {
        const why = e.code === 'EADDRINUSE' ? 'the host port is in use' : e.code === 'EACCES' ? 'not allowed to listen there' : e.code === 'EADDRNOTAVAIL' ? 'the host address is not one of this host\'s' : (e.code ?? e.message);
        reject(new Error(`hostfwd ${describe}: cannot listen: ${why}`));
      };
      if (rule.proto === 'tcp') {
        // Half-open connections are relayed as such (RFC 9293 3.6); nothing is read before the guest accepts.
        const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
          parts.tcp.acceptFromHost(socket, guestIp, rule.guestPort, parts.aliasIp);
        });
        this.servers.push(server);
        server.once('error', failed);
        server.listen({ host: hostAddr, port: rule.hostPort }, () => {
          server.off('error', failed);
          server.on('error', (e: NodeJS.ErrnoException) => parts.link.log(`hostfwd ${describe}: ${e.code ?? e.message}`));
          resolve(bound((server.address() as AddressInfo).port));
        });
        server.unref();
      } else {
        const socket = createSocket({ type: 'udp4' });
        this.sockets.push(socket);
        socket.once('error', failed);
        socket.on('message', (message, peer) => parts.udp.acceptFromHost(socket, message, peer, guestIp, rule.guestPort, parts.aliasIp));
        socket.bind({ address: hostAddr, port: rule.hostPort }, () => {
          socket.off('error', failed);
          socket.on('error', (e: NodeJS.ErrnoException) => parts.link.log(`hostfwd ${describe}: ${e.code ?? e.message}`));
          resolve(bound(socket.address().port));
        });
        socket.unref();
      }
    });
  }

  close(): void {
    for (const s of this.servers) s.close();
    for (const s of this.sockets) {
      try {
        s.close();
      } catch {
        // not bound, or closed already
      }
    }
  }
}
