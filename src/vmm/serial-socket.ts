/**
 * A socket backend for the PL011 (QEMU's `-serial tcp:...` and `-serial unix:...`
 * chardevs): as a server it listens and serves one client at a time; as a
 * client it connects out once. Bytes from the peer go to `onInput` (the
 * machine's receive path); guest output goes to the connected peer and is
 * dropped while none is connected, as QEMU does. A disconnect does not stop
 * the guest; the server takes the next client.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';

export type SerialSocketAddress = { host: string; port: number } | { path: string };

export interface SerialSocketSpec {
  address: SerialSocketAddress;
  /** Listen (true) or connect out (false). */
  server: boolean;
  /** As a server: wait for the first client before the guest starts (QEMU's default). */
  wait: boolean;
  /** Disable Nagle's algorithm on the connection. */
  nodelay: boolean;
}

/** A socket that cannot be set up (bind or connect failed): the CLI reports it and exits with code 2. */
export class SerialSocketError extends Error {}

/** Output queued for a slow peer beyond this is dropped (the guest never blocks on its console). */
const OUT_MAX = 1 << 20;

const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this host',
  ENOENT: 'no such directory',
  ENOTDIR: 'a path component is not a directory',
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
};

function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code !== undefined && ERRNO_TEXT[code]) || (e as Error).message;
}

/** `tcp:HOST:PORT` or `unix:PATH` for an address (IPv6 hosts in brackets). */
export function describeAddress(a: SerialSocketAddress | AddressInfo | string): string {
  if (typeof a === 'string') return `unix:${a}`;
  if ('path' in a) return `unix:${a.path}`;
  const host = 'address' in a ? a.address : a.host;
  return `tcp:${host.includes(':') ? `[${host}]` : host}:${a.port}`;
}

export class SerialSocket {
  private server: Server | null = null;
  private peer: Socket | null = null;
  private pending: Buffer[] = [];
  private flushScheduled = false;
  private closed = false;
  private unixPath: string | null = null;
  /** Where the server listens (the bound port when 0 was asked for); for a client, where it connects. */
  where = '';

  private constructor(
    private readonly spec: SerialSocketSpec,
    private readonly onInput: (bytes: Uint8Array) => void,
  ) {}

  /**
   * Listens or connects. As a server, `onListening` is told where (before any wait);
   * with `wait`, resolves once the first client is connected.
   */
  static async open(spec: SerialSocketSpec, onInput: (bytes: Uint8Array) => void, onListening?: (where: string, waiting: boolean) => void): Promise<SerialSocket> {
    const s = new SerialSocket(spec, onInput);
    if (spec.server) await s.listen(onListening);
    else await s.connect();
    return s;
  }

  /** Whether a peer is connected now. */
  get connected(): boolean {
    return this.peer !== null;
  }

  private async listen(onListening?: (where: string, waiting: boolean) => void): Promise<void> {
    const a = this.spec.address;
    if ('path' in a) {
      // As QEMU does, a stale socket left at the path is replaced; anything else there is an error from bind.
      try {
        if (lstatSync(a.path).isSocket()) unlinkSync(a.path);
      } catch {
        // nothing there
      }
    }
    let firstClient: (() => void) | null = null;
    const first = new Promise<void>((resolve) => (firstClient = resolve));
    const server = createServer((sock) => {
      if (this.peer !== null || this.closed) {
        sock.destroy(); // one client at a time, as QEMU's socket chardev
        return;
      }
      this.attach(sock);
      firstClient?.();
      firstClient = null;
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen('path' in a ? { path: a.path } : { host: a.host === '' ? undefined : a.host, port: a.port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      this.server = null;
      throw new SerialSocketError(`cannot listen on ${describeAddress(a)}: ${errText(e)}`);
    });
    server.on('error', () => {}); // accept errors after listening are not fatal
    if ('path' in a) this.unixPath = a.path;
    const addr = server.address();
    this.where = addr === null ? describeAddress(a) : describeAddress(addr);
    onListening?.(this.where, this.spec.wait);
    if (this.spec.wait) await first;
  }

  private async connect(): Promise<void> {
    const a = this.spec.address;
    this.where = describeAddress(a);
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = 'path' in a ? createConnection({ path: a.path }) : createConnection({ host: a.host === '' ? 'localhost' : a.host, port: a.port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    }).catch((e: unknown) => {
      throw new SerialSocketError(`cannot connect to ${describeAddress(a)}: ${errText(e)}`);
    });
    this.attach(sock);
  }

  private attach(sock: Socket): void {
    this.peer = sock;
    if (this.spec.nodelay && !('path' in this.spec.address)) sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.onInput(new Uint8Array(chunk)));
    sock.on('error', () => {}); // a reset is a disconnect, handled by 'close'
    sock.on('close', () => {
      if (this.peer === sock) this.peer = null;
    });
    sock.on('end', () => sock.end());
  }

  /** Guest output: batched and sent to the peer, or dropped while none is connected. */
  write(bytes: Uint8Array): void {
    if (this.peer === null || this.closed) return;
    this.pending.push(Buffer.from(bytes));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what is queued now. */
  flush(): void {
    this.flushScheduled = false;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    const peer = this.peer;
    if (peer === null || data.length === 0 || peer.destroyed || !peer.writable) return;
    if (peer.writableLength > OUT_MAX) return;
    peer.write(data);
  }

  /** Sends what is queued, ends the connection (waiting for the peer at most `graceMs`) and stops listening. */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    const peer = this.peer;
    const server = this.server;
    this.server = null;
    const waits: Array<Promise<void>> = [];
    if (server !== null) waits.push(new Promise<void>((resolve) => server.close(() => resolve())));
    if (peer !== null && !peer.destroyed) {
      waits.push(new Promise<void>((resolve) => {
        const timer = setTimeout(() => peer.destroy(), graceMs);
        peer.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        peer.end(() => peer.destroy());
      }));
    }
    await Promise.all(waits);
    this.peer = null;
    if (this.unixPath !== null) {
      try {
        unlinkSync(this.unixPath);
      } catch {
        // already gone
      }
    }
  }
}
