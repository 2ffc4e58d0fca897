/**
 * Split virtqueues as the device side sees them (virtio 1.1, section 2.6
 * "Split Virtqueues"): the descriptor table (16-byte entries: addr u64, len
 * u32, flags u16, next u16), the driver area or available ring (flags, idx,
 * ring[size], used_event) and the device area or used ring (flags, idx,
 * ring[size] of {id u32, len u32}, avail_event), all little-endian in guest
 * memory. Supports indirect descriptors (2.6.5.3) and the event index
 * notification suppression of VIRTIO_F_EVENT_IDX (2.6.7, 2.6.8).
 *
 * A malformed ring (an index out of range, a loop, a readable descriptor
 * after a writable one, a nested indirect table) raises `VirtqueueError`;
 * the transport then marks the device DEVICE_NEEDS_RESET.
 */

/** Guest-physical memory as the VMM exposes it to devices. */
export interface GuestMemory {
  read(gpa: number, len: number): Uint8Array;
  write(gpa: number, data: Uint8Array): void;
}

export class VirtqueueError extends Error {}

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

export interface Buffer {
  addr: number;
  len: number;
}

/** One request: the head index and its device-readable then device-writable buffers. */
export interface DescriptorChain {
  head: number;
  readable: Buffer[];
  writable: Buffer[];
  readableLength: number;
  writableLength: number;
}

function le16(b: Uint8Array, o = 0): number {
  return b[o] | (b[o + 1] << 8);
}
function le32(b: Uint8Array, o = 0): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export class Virtqueue {
  /** Set by the driver through the transport. */
  size: number;
  ready = false;
  descAddr = 0;
  driverAddr = 0;
  deviceAddr = 0;
  /** Negotiated VIRTIO_F_EVENT_IDX. */
  eventIdx = false;
  /** Next available-ring slot the device will consume. */
  lastAvail = 0;
  /** The device's used idx. */
  usedIdx = 0;
  /** used idx when the driver was last notified (event index mode). */
  private signalledUsed = 0;

  constructor(readonly index: number, readonly maxSize: number, private readonly mem: GuestMemory) {
    this.size = maxSize;
  }

  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descAddr = this.driverAddr = this.deviceAddr = 0;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    this.eventIdx = false;
  }

  /** Whether the driver's settings make a usable ring (checked when it sets QueueReady). */
  validate(): string | null {
    const s = this.size;
    if (s === 0 || s > this.maxSize || (s & (s - 1)) !== 0) return `queue ${this.index}: size ${s} is not a power of 2 in 1..${this.maxSize}`;
    if (this.descAddr % 16) return `queue ${this.index}: descriptor table at 0x${this.descAddr.toString(16)} is not 16-byte aligned`;
    if (this.driverAddr % 2) return `queue ${this.index}: available ring at 0x${this.driverAddr.toString(16)} is not 2-byte aligned`;
    if (this.deviceAddr % 4) return `queue ${this.index}: used ring at 0x${this.deviceAddr.toString(16)} is not 4-byte aligned`;
    return null;
  }

  private fail(msg: string): never {
    throw new VirtqueueError(`queue ${this.index}: ${msg}`);
  }

  private availIdx(): number {
    return le16(this.mem.read(this.driverAddr + 2, 2));
  }

  /** Requests the driver has made available and the device has not taken. */
  pending(): number {
    if (!this.ready) return 0;
    const n = (this.availIdx() - this.lastAvail) & 0xffff;
    if (n > this.size) this.fail(`available idx moved ${n} entries ahead of the device, more than the queue size ${this.size}`);
    return n;
  }

  /** Takes the next available chain, or null if there is none. */
  pop(): DescriptorChain | null {
    if (this.pending() === 0) return null;
    const slot = this.lastAvail % this.size;
    const head = le16(this.mem.read(this.driverAddr + 4 + 2 * slot, 2));
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.eventIdx) this.writeAvailEvent();
    return this.walk(head);
  }

  /** Puts a taken chain back (the device cannot use it yet, e.g. no input to give). */
  undoPop(): void {
    this.lastAvail = (this.lastAvail - 1) & 0xffff;
    if (this.eventIdx) this.writeAvailEvent();
  }

  private walk(head: number): DescriptorChain {
    if (head >= this.size) this.fail(`head descriptor ${head} is out of range (queue size ${this.size})`);
    const chain: DescriptorChain = { head, readable: [], writable: [], readableLength: 0, writableLength: 0 };
    let table = this.descAddr;
    let tableSize = this.size;
    let i = head;
    let count = 0;
    let indirect = false;
    for (;;) {
      if (++count > tableSize) this.fail(`descriptor chain from ${head} is longer than its table (${tableSize}): a loop?`);
      const d = this.mem.read(table + 16 * i, 16);
      const addr = le32(d, 0) + le32(d, 4) * 2 ** 32;
      const len = le32(d, 8);
      const flags = le16(d, 12);
      const next = le16(d, 14);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (indirect) this.fail(`descriptor ${i} of an indirect table is itself indirect`);
        if (flags & VIRTQ_DESC_F_NEXT) this.fail(`descriptor ${i} sets both INDIRECT and NEXT`);
        if (len === 0 || len % 16) this.fail(`indirect table of ${len} bytes at descriptor ${i} is not a non-zero multiple of 16`);
        indirect = true;
        table = addr;
        tableSize = len / 16;
        i = 0;
        count = 0;
        continue;
      }
      if (flags & VIRTQ_DESC_F_WRITE) {
        chain.writable.push({ addr, len });
        chain.writableLength += len;
      } else {
        if (chain.writable.length) this.fail(`chain ${head}: device-readable descriptor ${i} follows a device-writable one`);
        chain.readable.push({ addr, len });
        chain.readableLength += len;
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= tableSize) this.fail(`descriptor ${i} points to next ${next}, out of range (${tableSize})`);
      i = next;
    }
    return chain;
  }

  /** Returns a chain to the driver with `len` bytes written into its writable buffers. */
  push(head: number, len: number): void {
    const slot = this.usedIdx % this.size;
    const e = new Uint8Array(8);
    const dv = new DataView(e.buffer);
    dv.setUint32(0, head, true);
    dv.setUint32(4, len, true);
    this.mem.write(this.deviceAddr + 4 + 8 * slot, e);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    const idx = new Uint8Array([this.usedIdx & 0xff, this.usedIdx >> 8]);
    this.mem.write(this.deviceAddr + 2, idx);
  }

  /**
   * Whether the driver wants an interrupt for the buffers used since the last
   * one (2.6.7.2): without EVENT_IDX, unless avail.flags has NO_INTERRUPT;
   * with it, when used idx has passed used_event.
   */
  needsInterrupt(): boolean {
    if (this.eventIdx) {
      const old = this.signalledUsed;
      const now = this.usedIdx;
      const event = le16(this.mem.read(this.driverAddr + 4 + 2 * this.size, 2));
      this.signalledUsed = now;
      return ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
    }
    return (le16(this.mem.read(this.driverAddr, 2)) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** Event index mode: ask the driver to notify once it makes entries beyond what the device took. */
  private writeAvailEvent(): void {
    this.mem.write(this.deviceAddr + 4 + 8 * this.size, new Uint8Array([this.lastAvail & 0xff, this.lastAvail >> 8]));
  }

  /** On activation: the used ring starts empty and, in event index mode, avail_event is set. */
  activate(): void {
    if (this.eventIdx) this.writeAvailEvent();
  }

  // ---- Helpers for devices ----

  /** Reads up to `max` bytes from the chain's readable buffers, starting `skip` bytes in. */
  readFrom(chain: DescriptorChain, skip = 0, max = chain.readableLength - skip): Uint8Array {
    const n = Math.max(0, Math.min(max, chain.readableLength - skip));
    const out = new Uint8Array(n);
    let o = 0;
    let s = skip;
    for (const b of chain.readable) {
      if (o >= n) break;
      if (s >= b.len) {
        s -= b.len;
        continue;
      }
      const take = Math.min(b.len - s, n - o);
      out.set(this.mem.read(b.addr + s, take), o);
      o += take;
      s = 0;
    }
    return out;
  }

  /** Writes `data` into the chain's writable buffers from byte `skip`; returns the bytes written. */
  writeTo(chain: DescriptorChain, data: Uint8Array, skip = 0): number {
    let o = 0;
    let s = skip;
    for (const b of chain.writable) {
      if (o >= data.length) break;
      if (s >= b.len) {
        s -= b.len;
        continue;
      }
      const take = Math.min(b.len - s, data.length - o);
      this.mem.write(b.addr + s, data.subarray(o, o + take));
      o += take;
      s = 0;
    }
    return o;
  }
}
