/**
 * Test helpers for the user network: frames built and decoded by hand
 * (independently of the code under test, checksums included), and a wire
 * that collects what the backend sends to the guest.
 */
import assert from 'node:assert/strict';
import { UserNetwork, type UserNetworkOptions } from '../../../src/vmm/net/user.js';

export const GUEST_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
export const GATEWAY_MAC = Uint8Array.of(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02);
export const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
export const GUEST_IP = '10.0.2.15';
export const HOST_IP = '10.0.2.2';
export const DNS_IP = '10.0.2.3';

export function ip(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function ipText(bytes: Uint8Array, offset: number): string {
  return Array.from(bytes.subarray(offset, offset + 4)).join('.');
}

export function macText(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
const put32 = (b: Uint8Array, o: number, v: number): void => {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
};

/** One's complement sum of 16-bit words, folded (written plainly, for checking the code under test). */
export function onesSum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 2) sum += (part[i] << 8) + (i + 1 < part.length ? part[i + 1] : 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function checksum(parts: Uint8Array[]): number {
  return ~onesSum(parts) & 0xffff;
}

function pseudo(src: number, dst: number, proto: number, length: number): Uint8Array {
  const p = new Uint8Array(12);
  put32(p, 0, src);
  put32(p, 4, dst);
  p[9] = proto;
  put16(p, 10, length);
  return p;
}

export function ethernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  put16(f, 12, type);
  f.set(payload, 14);
  return f;
}

export interface Ipv4Fields {
  src: string;
  dst: string;
  proto: number;
  payload: Uint8Array;
  id?: number;
  flagsFragment?: number;
  ttl?: number;
}

export function ipv4(p: Ipv4Fields): Uint8Array {
  const b = new Uint8Array(20 + p.payload.length);
  b[0] = 0x45;
  put16(b, 2, b.length);
  put16(b, 4, p.id ?? 1);
  put16(b, 6, p.flagsFragment ?? 0x4000);
  b[8] = p.ttl ?? 64;
  b[9] = p.proto;
  put32(b, 12, ip(p.src));
  put32(b, 16, ip(p.dst));
  put16(b, 10, checksum([b.subarray(0, 20)]));
  b.set(p.payload, 20);
  return b;
}

export function udp(src: string, sport: number, dst: string, dport: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  put16(b, 0, sport);
  put16(b, 2, dport);
  put16(b, 4, b.length);
  b.set(payload, 8);
  put16(b, 6, checksum([pseudo(ip(src), ip(dst), 17, b.length), b]) || 0xffff);
  return b;
}

/** A UDP/IPv4/Ethernet frame from the guest to the gateway MAC. */
export function guestUdp(src: string, sport: number, dst: string, dport: number, payload: Uint8Array, dstMac = GATEWAY_MAC): Uint8Array {
  return ethernet(dstMac, GUEST_MAC, 0x0800, ipv4({ src, dst, proto: 17, payload: udp(src, sport, dst, dport, payload) }));
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export interface TcpFields {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  /** Raw option bytes (a multiple of 4). */
  options?: Uint8Array;
  payload?: Uint8Array;
}

export function tcp(t: TcpFields): Uint8Array {
  const options = t.options ?? new Uint8Array(0);
  const payload = t.payload ?? new Uint8Array(0);
  const hl = 20 + options.length;
  const b = new Uint8Array(hl + payload.length);
  put16(b, 0, t.sport);
  put16(b, 2, t.dport);
  put32(b, 4, t.seq);
  put32(b, 8, t.ack);
  b[12] = (hl / 4) << 4;
  b[13] = t.flags;
  put16(b, 14, t.window ?? 65535);
  b.set(options, 20);
  b.set(payload, hl);
  put16(b, 16, checksum([pseudo(ip(t.src), ip(t.dst), 6, b.length), b]));
  return b;
}

export function guestTcp(t: TcpFields): Uint8Array {
  return ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, ipv4({ src: t.src, dst: t.dst, proto: 6, payload: tcp(t) }));
}

export function arpPacket(op: number, senderMac: Uint8Array, senderIp: string, targetMac: Uint8Array, targetIp: string): Uint8Array {
  const b = new Uint8Array(28);
  put16(b, 0, 1);
  put16(b, 2, 0x0800);
  b[4] = 6;
  b[5] = 4;
  put16(b, 6, op);
  b.set(senderMac, 8);
  put32(b, 14, ip(senderIp));
  b.set(targetMac, 18);
  put32(b, 24, ip(targetIp));
  return b;
}

// ---- decoding what the backend sends, with every checksum verified ----

export interface DecodedIpv4 {
  src: string;
  dst: string;
  proto: number;
  id: number;
  flagsFragment: number;
  ttl: number;
  payload: Uint8Array;
}

export interface DecodedTcp {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  options: Uint8Array;
  payload: Uint8Array;
}

export interface Decoded {
  dst: string;
  src: string;
  type: number;
  payload: Uint8Array;
  ip?: DecodedIpv4;
  udp?: { sport: number; dport: number; payload: Uint8Array };
  tcp?: DecodedTcp;
}

/** Decodes a frame for the guest, asserting the IPv4, UDP, TCP and ICMP checksums and lengths. */
export function decode(frame: Uint8Array): Decoded {
  assert.ok(frame.length >= 60, `frame of ${frame.length} bytes is shorter than the Ethernet minimum`);
  const d: Decoded = { dst: macText(frame.subarray(0, 6)), src: macText(frame.subarray(6, 12)), type: u16(frame, 12), payload: frame.subarray(14) };
  if (d.type !== 0x0800) return d;
  const p = d.payload;
  assert.equal(p[0], 0x45, 'IPv4 without options');
  const total = u16(p, 2);
  assert.ok(total <= p.length, 'IPv4 total length within the frame');
  assert.equal(checksum([p.subarray(0, 20)]), 0, 'IPv4 header checksum');
  const v: DecodedIpv4 = { src: ipText(p, 12), dst: ipText(p, 16), proto: p[9], id: u16(p, 4), flagsFragment: u16(p, 6), ttl: p[8], payload: p.subarray(20, total) };
  d.ip = v;
  if ((v.flagsFragment & 0x3fff) !== 0) return d; // a fragment: the caller reassembles
  if (v.proto === 17) {
    const len = u16(v.payload, 4);
    assert.equal(len, v.payload.length, 'UDP length');
    assert.notEqual(u16(v.payload, 6), 0, 'UDP checksum present');
    assert.equal(checksum([pseudo(ip(v.src), ip(v.dst), 17, len), v.payload]), 0, 'UDP checksum');
    d.udp = { sport: u16(v.payload, 0), dport: u16(v.payload, 2), payload: v.payload.subarray(8) };
  } else if (v.proto === 6) {
    const t = v.payload;
    assert.equal(checksum([pseudo(ip(v.src), ip(v.dst), 6, t.length), t]), 0, 'TCP checksum');
    const hl = (t[12] >>> 4) * 4;
    d.tcp = { sport: u16(t, 0), dport: u16(t, 2), seq: u32(t, 4), ack: u32(t, 8), flags: t[13], window: u16(t, 14), options: t.subarray(20, hl), payload: t.subarray(hl) };
  } else if (v.proto === 1) {
    assert.equal(checksum([v.payload]), 0, 'ICMP checksum');
  }
  return d;
}

/** The backend with a recorder on its receive side. */
export class Wire {
  readonly net: UserNetwork;
  private readonly queue: Uint8Array[] = [];
  private waiter: (() => void) | null = null;

  constructor(options: UserNetworkOptions = {}) {
    this.net = new UserNetwork({ resolvConf: '/nonexistent', ...options });
    this.net.onReceive = (frame) => {
      this.queue.push(frame);
      const w = this.waiter;
      this.waiter = null;
      w?.();
    };
  }

  send(frame: Uint8Array): void {
    this.net.send(frame);
  }

  /** Waits for the next frame for which `match` holds (earlier non-matching frames are kept). */
  async next(match: (d: Decoded) => boolean = () => true, timeoutMs = 1000): Promise<Decoded> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.queue.length; i++) {
        const d = decode(this.queue[i]);
        if (match(d)) {
          this.queue.splice(i, 1);
          return d;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no matching frame arrived in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Every frame that arrives within `ms`, taken from the queue. */
  async drain(ms = 30): Promise<Decoded[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0).map(decode);
  }

  close(): void {
    this.net.close();
  }
}

/** A minimal guest-side TCP endpoint driven by the test. */
export class GuestTcp {
  seq: number;
  rcvNxt = 0;
  constructor(
    private readonly wire: Wire,
    readonly sport: number,
    readonly dst: string,
    readonly dport: number,
    readonly iss = 1000,
    readonly src = GUEST_IP,
  ) {
    this.seq = iss;
  }

  send(flags: number, opts: { payload?: Uint8Array; window?: number; seq?: number; ack?: number; options?: Uint8Array } = {}): void {
    this.wire.send(
      guestTcp({
        src: this.src,
        sport: this.sport,
        dst: this.dst,
        dport: this.dport,
        seq: opts.seq ?? this.seq,
        ack: opts.ack ?? (flags & ACK ? this.rcvNxt : 0),
        flags,
        window: opts.window,
        options: opts.options,
        payload: opts.payload,
      }),
    );
  }

  /** The next segment of this connection. */
  next(timeoutMs = 1000): Promise<DecodedTcp> {
    return this.wire
      .next((d) => d.tcp !== undefined && d.tcp.dport === this.sport && d.tcp.sport === this.dport && d.ip?.src === this.dst, timeoutMs)
      .then((d) => d.tcp as DecodedTcp);
  }

  /** SYN with MSS 1460; resolves with the SYN-ACK (asserted) and ACKs it. */
  async connect(window = 65535): Promise<DecodedTcp> {
    this.send(SYN, { window, options: Uint8Array.of(2, 4, 0x05, 0xb4) });
    this.seq = (this.iss + 1) >>> 0;
    const synAck = await this.next();
    assert.equal(synAck.flags, SYN | ACK, 'SYN-ACK');
    assert.equal(synAck.ack, this.seq);
    this.rcvNxt = (synAck.seq + 1) >>> 0;
    this.send(ACK, { window });
    return synAck;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
