/**
 * A GDB server (gdbserver's side of the Remote Serial Protocol, GDB manual's
 * "Remote Protocol" appendix) on a TCP or unix socket, for a `GdbTarget`
 * (target.ts): all-stop, CPUs as threads 1..cpus, software breakpoints,
 * single step, Ctrl-C, the target description by qXfer.
 *
 * One client at a time; a second connection is closed at once. When a client
 * connects to a running machine, the machine is stopped first (as QEMU does)
 * and the client's packets wait for that stop. Detaching (D) resumes the
 * machine; a client that just goes away (or kills, k) leaves it as it is.
 * Breakpoints a client inserted and did not remove are removed when it goes.
 * Nothing thrown by the target or caused by a malformed packet leaves a socket
 * handler: the client gets `E01` (or the empty reply for unknown commands).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import type { GdbTarget } from './target.js';
import { RspDecoder, escapeBinary, framePacket, fromHex, toHex, unescapeBinary, type RspEvent } from './rsp.js';

type TargetStop = Parameters<NonNullable<GdbTarget['onStop']>>[0];
/** The state a stop left: the signal GDB is told, and whether a software breakpoint caused it. */
type Stop = { kind: 'stopped'; cpu: number; signal: number; swbreak: boolean } | { kind: 'exited'; code: number };

/** The packet size we announce (hex in qSupported: 0x4000 bytes). */
const PACKET_SIZE = 0x4000;
/** The most memory one `m` reads (its reply is two hex digits a byte). */
const MAX_READ = (PACKET_SIZE - 8) >> 1;
const SUPPORTED = `PacketSize=${PACKET_SIZE.toString(16)};qXfer:features:read+;QStartNoAckMode+;vContSupported+`;
const SIGINT = 2, SIGTRAP = 5;
/** Retransmissions of one packet on `-` before giving up on it. */
const MAX_RETRANSMIT = 8;

export type GdbServerSpec = { host?: string; port: number } | { path: string };

const HEX = /^[0-9a-fA-F]+$/;

function parseAddr(s: string): bigint | null {
  return HEX.test(s) && s.length <= 16 ? BigInt('0x' + s) : null;
}

function parseNum(s: string): number | null {
  return HEX.test(s) && s.length <= 8 ? parseInt(s, 16) : null;
}

/** A thread id: -1 (all), 0 (any), or a thread number; `p<pid>.<tid>` takes the tid. Null: malformed. */
function parseThread(s: string): number | null {
  if (s.startsWith('p')) {
    const dot = s.indexOf('.');
    if (dot < 0) return null;
    s = s.slice(dot + 1);
  }
  if (s === '-1') return -1;
  return parseNum(s);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

export class GdbServer {
  /** Where the server listens: `tcp:HOST:PORT` (`tcp::PORT` for every interface; the bound port when 0 was asked) or the socket's path. */
  readonly address: string;

  private client: Socket | null = null;
  private closed = false;
  private clientWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  // The machine, across clients.
  private running = false;
  private stop: Stop = { kind: 'stopped', cpu: 0, signal: SIGTRAP, swbreak: false };

  // The client's session.
  private decoder = new RspDecoder();
  private noAck = false;
  private lastSent: Buffer | null = null;
  private retransmits = 0;
  private swbreak = false;
  /** The CPU of g/G/p/P/m/M/X (Hg), and the one a plain step steps (Hc; null: the stopped one). */
  private gCpu = 0;
  private cCpu: number | null = null;
  /** The client resumed the machine and waits for a stop reply. */
  private awaitingStop = false;
  /** The machine is being stopped for a new client, whose packets wait in `queue`. */
  private attaching = false;
  private queue: RspEvent[] = [];
  private breakpoints = new Set<bigint>();

  private constructor(
    private readonly target: GdbTarget,
    private readonly server: Server,
    private readonly unixPath: string | null,
    address: string,
    private readonly log: (m: string) => void,
  ) {
    this.address = address;
    target.onStop = (e) => this.onTargetStop(e);
    server.on('connection', (sock) => this.onConnection(sock));
    server.on('error', (e) => this.log(`server error: ${e.message}`));
  }

  /** Listens on `spec` (port 0: any free port; no host: every interface, as QEMU's `tcp::PORT`). The target is taken to be stopped. */
  static async listen(target: GdbTarget, spec: GdbServerSpec, log: (m: string) => void = () => {}): Promise<GdbServer> {
    const server = createServer();
    const isPath = 'path' in spec;
    if (isPath) {
      // A stale socket left at the path is replaced; anything else there is an error from bind.
      try {
        if (lstatSync(spec.path).isSocket()) unlinkSync(spec.path);
      } catch {
        // nothing there
      }
    }
    const host = isPath ? '' : spec.host ?? '';
    const shownHost = host.includes(':') ? `[${host}]` : host;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const opts = isPath ? { path: spec.path } : { host: host === '' ? undefined : host, port: spec.port };
      server.listen(opts, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      server.close();
      const where = isPath ? spec.path : `tcp:${shownHost}:${spec.port}`;
      throw new Error(`cannot listen on ${where}: ${(e as Error).message}`);
    });
    const a = server.address();
    const port = a !== null && typeof a === 'object' ? a.port : isPath ? 0 : spec.port;
    return new GdbServer(target, server, isPath ? spec.path : null, isPath ? spec.path : `tcp:${shownHost}:${port}`, log);
  }

  /** Resolves when a client is connected (at once if one is); rejects if the server closes first. */
  waitForClient(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the GDB server is closed'));
    if (this.client !== null) return Promise.resolve();
    return new Promise((resolve, reject) => this.clientWaiters.push({ resolve, reject }));
  }

  /** Whether a client is connected now. */
  get connected(): boolean {
    return this.client !== null;
  }

  /**
   * Runs the machine (every CPU) as a continue from the server would, with no
   * client waiting: use this rather than `target.resume(null)` so the server
   * knows the machine runs (a client that connects then stops it first).
   */
  resume(): void {
    if (this.running || this.stop.kind === 'exited') return;
    this.running = true;
    this.awaitingStop = false;
    try {
      this.target.resume(null);
    } catch (e) {
      this.running = false;
      this.log(`resume failed: ${(e as Error).message}`);
    }
  }

  /** Closes the client and stops listening. The machine is left as it is. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.target.onStop !== null) this.target.onStop = null;
    for (const w of this.clientWaiters.splice(0)) w.reject(new Error('the GDB server is closed'));
    const sock = this.client;
    if (sock !== null) {
      this.onClientGone(sock);
      sock.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.unixPath !== null) {
      try {
        unlinkSync(this.unixPath);
      } catch {
        // already gone
      }
    }
  }

  // ---- Connections --------------------------------------------------------------------

  private onConnection(sock: Socket): void {
    if (this.client !== null || this.closed) {
      this.log(`refused a second connection${sock.remoteAddress ? ` from ${sock.remoteAddress}` : ''}: a debugger is connected`);
      sock.destroy();
      return;
    }
    this.client = sock;
    this.decoder = new RspDecoder();
    this.noAck = false;
    this.lastSent = null;
    this.retransmits = 0;
    this.swbreak = false;
    this.gCpu = this.stop.kind === 'stopped' ? this.stop.cpu : 0;
    this.cCpu = null;
    this.awaitingStop = false;
    this.queue = [];
    this.breakpoints.clear();
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const ev of this.decoder.feed(chunk)) {
          if (this.client !== sock) return;
          this.onEvent(ev);
        }
      } catch (e) {
        this.log(`internal error: ${(e as Error).message}`);
      }
    });
    sock.on('error', (e) => this.log(`connection error: ${e.message}`));
    sock.on('close', () => this.onClientGone(sock));
    this.log('debugger connected');
    // A client finds the machine stopped (QEMU does the same).
    this.attaching = this.running;
    try {
      this.target.interrupt();
    } catch (e) {
      this.log(`interrupt failed: ${(e as Error).message}`);
    }
    for (const w of this.clientWaiters.splice(0)) w.resolve();
  }

  private onClientGone(sock: Socket): void {
    if (this.client !== sock) return;
    this.client = null;
    this.attaching = false;
    this.awaitingStop = false;
    this.queue = [];
    for (const addr of this.breakpoints) {
      try {
        this.target.removeBreakpoint(addr);
      } catch {
        // the machine's problem now
      }
    }
    this.breakpoints.clear();
    this.log('debugger disconnected');
  }

  /** Ends the client's connection (after what was written goes out). */
  private dropClient(): void {
    const sock = this.client;
    if (sock === null) return;
    this.onClientGone(sock);
    sock.end();
  }

  // ---- Framing --------------------------------------------------------------------------

  private write(bytes: Buffer | string): void {
    if (this.client !== null && !this.client.destroyed) this.client.write(bytes);
  }

  private send(payload: string | Uint8Array): void {
    const frame = framePacket(payload);
    if (!this.noAck) {
      this.lastSent = frame;
      this.retransmits = 0;
    }
    this.write(frame);
  }

  private onEvent(ev: RspEvent): void {
    switch (ev.kind) {
      case 'ack':
        this.retransmits = 0;
        return;
      case 'nack':
        if (!this.noAck && this.lastSent !== null && this.retransmits++ < MAX_RETRANSMIT) this.write(this.lastSent);
        return;
      case 'badChecksum':
        this.log('packet with a bad checksum');
        if (!this.noAck) this.write('-');
        return;
      case 'interrupt':
        if (this.running && !this.attaching) {
          try {
            this.target.interrupt();
          } catch (e) {
            this.log(`interrupt failed: ${(e as Error).message}`);
          }
        }
        return;
      case 'packet':
        if (!this.noAck) this.write('+');
        if (this.attaching) this.queue.push(ev);
        else if (this.running) this.log(`packet ignored while the machine runs: ${ev.text.slice(0, 40)}`);
        else this.dispatch(ev.data, ev.text);
        return;
    }
  }

  private dispatch(data: Uint8Array, text: string): void {
    let reply: string | Uint8Array | null;
    try {
      reply = this.command(data, text);
    } catch (e) {
      this.log(`${text.slice(0, 40)}: ${(e as Error).message}`);
      reply = 'E01';
    }
    if (reply !== null) this.send(reply);
  }

  // ---- Stops ------------------------------------------------------------------------------

  private onTargetStop(e: TargetStop): void {
    try {
      this.stop =
        e.kind === 'exited'
          ? { kind: 'exited', code: e.code }
          : {
              kind: 'stopped',
              cpu: e.cpu,
              // Only a client's Ctrl-C reads as SIGINT; a stop to let a client in is a plain SIGTRAP, as `?` on a fresh machine.
              signal: e.reason === 'interrupt' && this.awaitingStop ? SIGINT : SIGTRAP,
              swbreak: e.reason === 'breakpoint',
            };
      this.running = false;
      if (this.stop.kind === 'stopped') this.gCpu = this.stop.cpu;
      if (this.client === null) return;
      if (this.awaitingStop) {
        this.awaitingStop = false;
        this.send(this.stopReply());
      }
      if (this.attaching) {
        this.attaching = false;
        for (const ev of this.queue.splice(0)) {
          if (this.client === null || this.running) break;
          if (ev.kind === 'packet') this.dispatch(ev.data, ev.text);
        }
      }
    } catch (err) {
      this.log(`internal error on a stop: ${(err as Error).message}`);
    }
  }

  private stopReply(): string {
    const s = this.stop;
    if (s.kind === 'exited') return `W${hex2(s.code & 0xff)}`;
    return `T${hex2(s.signal)}thread:${hex2(s.cpu + 1)};${s.swbreak && this.swbreak ? 'swbreak:;' : ''}`;
  }

  /** Runs the machine for the client (all CPUs, or `stepCpu` for one instruction); the stop reply comes later. */
  private resumeFor(stepCpu: number | null): string | null {
    if (this.stop.kind === 'exited') return this.stopReply();
    this.running = true;
    this.awaitingStop = true;
    try {
      this.target.resume(stepCpu);
    } catch (e) {
      this.running = false;
      this.awaitingStop = false;
      throw e;
    }
    return null;
  }

  /** The CPU a step without a named thread steps. */
  private defaultStepCpu(): number {
    if (this.cCpu !== null) return this.cCpu;
    return this.stop.kind === 'stopped' ? this.stop.cpu : this.gCpu;
  }

  private validThread(t: number): boolean {
    return t >= 1 && t <= this.target.cpus;
  }

  // ---- Commands -----------------------------------------------------------------------------

  /** The reply to one packet (null: none now). */
  private command(data: Uint8Array, p: string): string | Uint8Array | null {
    const t = this.target;
    switch (p[0]) {
      case '?':
        return this.stopReply();
      case 'g':
        return p === 'g' ? toHex(t.readRegisters(this.gCpu)) : 'E01';
      case 'G': {
        const bytes = fromHex(p.slice(1));
        if (bytes === null) return 'E01';
        t.writeRegisters(this.gCpu, bytes);
        return 'OK';
      }
      case 'p': {
        const n = parseNum(p.slice(1));
        if (n === null) return 'E01';
        const r = t.readRegister(this.gCpu, n);
        return r === null ? 'E01' : toHex(r);
      }
      case 'P': {
        const m = /^P([0-9a-fA-F]+)=([0-9a-fA-F]*)$/.exec(p);
        const n = m === null ? null : parseNum(m[1]);
        const bytes = m === null ? null : fromHex(m[2]);
        if (n === null || bytes === null) return 'E01';
        return t.writeRegister(this.gCpu, n, bytes) ? 'OK' : 'E01';
      }
      case 'm': {
        const m = /^m([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(p);
        const addr = m === null ? null : parseAddr(m[1]);
        const len = m === null ? null : parseNum(m[2]);
        if (addr === null || len === null) return 'E01';
        if (len === 0) return '';
        const bytes = t.readMemory(this.gCpu, addr, Math.min(len, MAX_READ));
        return bytes === null || bytes.length === 0 ? 'E14' : toHex(bytes);
      }
      case 'M': {
        const m = /^M([0-9a-fA-F]+),([0-9a-fA-F]+):([0-9a-fA-F]*)$/.exec(p);
        const addr = m === null ? null : parseAddr(m[1]);
        const len = m === null ? null : parseNum(m[2]);
        const bytes = m === null ? null : fromHex(m[3]);
        if (addr === null || len === null || bytes === null || bytes.length !== len) return 'E01';
        return len === 0 || t.writeMemory(this.gCpu, addr, bytes) ? 'OK' : 'E14';
      }
      case 'X': {
        const colon = data.indexOf(0x3a);
        const m = colon < 0 ? null : /^X([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(p.slice(0, colon));
        const addr = m === null ? null : parseAddr(m[1]);
        const len = m === null ? null : parseNum(m[2]);
        const bytes = colon < 0 ? null : unescapeBinary(data.subarray(colon + 1));
        if (addr === null || len === null || bytes === null || bytes.length !== len) return 'E01';
        return len === 0 || t.writeMemory(this.gCpu, addr, bytes) ? 'OK' : 'E14';
      }
      case 'Z':
      case 'z': {
        const m = /^[Zz]([0-9]),([0-9a-fA-F]+),([0-9a-fA-F]+)(;.*)?$/.exec(p);
        if (m === null) return 'E01';
        if (m[1] !== '0') return ''; // hardware breakpoints and watchpoints: not supported
        const addr = parseAddr(m[2]);
        if (addr === null) return 'E01';
        if (p[0] === 'Z') {
          if (!t.insertBreakpoint(addr)) return 'E01';
          this.breakpoints.add(addr);
          return 'OK';
        }
        this.breakpoints.delete(addr);
        return t.removeBreakpoint(addr) ? 'OK' : 'E01';
      }
      case 'c':
      case 'C':
      case 's':
      case 'S': {
        // c[addr], s[addr]; C sig[;addr], S sig[;addr]: the address (and signal) is ignored.
        if (!/^([cs][0-9a-fA-F]*|[CS][0-9a-fA-F]{2}(;[0-9a-fA-F]+)?)$/.test(p)) return 'E01';
        return this.resumeFor(p[0] === 'c' || p[0] === 'C' ? null : this.defaultStepCpu());
      }
      case 'H': {
        const th = parseThread(p.slice(2));
        if ((p[1] !== 'g' && p[1] !== 'c') || th === null) return 'E01';
        if (th > 0 && !this.validThread(th)) return 'E01';
        if (p[1] === 'g') {
          if (th > 0) this.gCpu = th - 1;
        } else this.cCpu = th > 0 ? th - 1 : null;
        return 'OK';
      }
      case 'T': {
        const th = parseThread(p.slice(1));
        return th !== null && this.validThread(th) ? 'OK' : 'E01';
      }
      case 'D':
        if (p !== 'D' && !/^D;[0-9a-fA-F]+$/.test(p)) return 'E01';
        this.send('OK');
        this.dropClient(); // removes the breakpoints left
        this.resume();
        return null;
      case 'k':
        this.log('kill request: the debugger is disconnected, the machine left as it is');
        this.dropClient();
        return null;
      case 'q':
      case 'Q':
        return this.query(p);
      case 'v':
        return this.vPacket(p);
      default:
        return '';
    }
  }

  private query(p: string): string | Uint8Array | null {
    if (p === 'qSupported' || p.startsWith('qSupported:')) {
      this.swbreak = p.slice('qSupported:'.length).split(';').includes('swbreak+');
      return this.swbreak ? `${SUPPORTED};swbreak+` : SUPPORTED;
    }
    if (p === 'QStartNoAckMode') {
      this.send('OK'); // still acknowledged; nothing after it is
      this.noAck = true;
      this.lastSent = null;
      return null; // replied already
    }
    if (p.startsWith('qXfer:features:read:')) {
      const m = /^qXfer:features:read:([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(p);
      const off = m === null ? null : parseNum(m[2]);
      const len = m === null ? null : parseNum(m[3]);
      if (m === null || off === null || len === null) return 'E01';
      if (m[1] !== 'target.xml') return 'E00';
      const xml = Buffer.from(this.target.targetXml, 'utf8');
      if (off > xml.length) return 'E01';
      const n = Math.min(len, PACKET_SIZE - 16);
      const chunk = xml.subarray(off, off + n);
      const escaped = escapeBinary(chunk);
      const out = new Uint8Array(escaped.length + 1);
      out[0] = off + chunk.length >= xml.length ? 0x6c /* l */ : 0x6d /* m */;
      out.set(escaped, 1);
      return out;
    }
    if (p === 'qAttached' || p.startsWith('qAttached:')) return '1';
    if (p === 'qC') return `QC${(this.gCpu + 1).toString(16)}`;
    if (p === 'qfThreadInfo') return 'm' + Array.from({ length: this.target.cpus }, (_, i) => (i + 1).toString(16)).join(',');
    if (p === 'qsThreadInfo') return 'l';
    return '';
  }

  private vPacket(p: string): string | null {
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p.startsWith('vCont;')) {
      let step: number | null = null;
      let cont = false;
      for (const action of p.slice(6).split(';')) {
        const m = /^(c|s|C[0-9a-fA-F]{2}|S[0-9a-fA-F]{2})(?::(.+))?$/.exec(action);
        if (m === null) return 'E01';
        let cpu: number | null = null;
        if (m[2] !== undefined) {
          const th = parseThread(m[2]);
          if (th === null || (th > 0 && !this.validThread(th))) return 'E01';
          if (th > 0) cpu = th - 1;
        }
        if (m[1][0] === 's' || m[1][0] === 'S') {
          if (step === null) step = cpu ?? this.defaultStepCpu();
        } else cont = true;
      }
      if (step === null && !cont) return 'E01';
      return this.resumeFor(step);
    }
    if (p.startsWith('vKill')) {
      this.send('OK');
      this.log('kill request: the debugger is disconnected, the machine left as it is');
      this.dropClient();
      return null;
    }
    return '';
  }
}
