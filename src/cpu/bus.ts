/**
 * The physical address space as the PE sees it: RAM regions backed by host
 * buffers, and MMIO devices that see only offsets into their own window
 * (the bus/device separation of Firecracker's `vstate/bus.rs`).
 *
 * Addresses are JavaScript numbers: physical addresses are at most 52 bits
 * (FEAT_LPA), which a double holds exactly.
 */
import { HostArena } from './arena.js';

export interface RamRegion {
  readonly base: number;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly readonly: boolean;
  /** Offset of `bytes` in the bus's host arena, or -1 when the region lies outside it. */
  readonly host: number;
}

/** A device on the bus. `size` is 1, 2, 4 or 8 bytes; 8-byte accesses split the value into two 32-bit halves. */
export interface MmioDevice {
  readonly name: string;
  /** Returns the low 32 bits; for 8-byte reads the high half goes in `hi.value`. */
  read(offset: number, size: number, hi: { value: number }): number;
  write(offset: number, size: number, lo: number, hi: number): void;
}

interface MmioMapping {
  readonly base: number;
  readonly size: number;
  readonly device: MmioDevice;
}

export class BusError extends Error {}

/** What the bus needs from each PE that decodes code from its RAM. */
export interface CodeHolder {
  hasCodePage(page: number): boolean;
  /** Drops decoded code overlapping [pa, pa+len). */
  invalidateCode(pa: number, len: number): void;
  /** Stops the fast write path for `page` (its TLB write entries). */
  dropWritesToPage(page: number): void;
}

export interface PhysicalBusOptions {
  /**
   * Bytes of RAM the machine will put on the bus: with it the bus keeps its
   * RAM and its PEs' state in one host arena (arena.ts), which the
   * WebAssembly tier of the processor needs. Without it (or where the host
   * cannot make one) blocks are compiled to JavaScript only.
   */
  readonly arenaRam?: number;
}

export class PhysicalBus {
  readonly ram: RamRegion[] = [];
  /** The host arena of RAM and PE state (null: none). */
  readonly arena: HostArena | null;
  readonly mmio: MmioMapping[] = [];
  /**
   * The PEs decoding code from this bus, and the physical pages (4 KiB) that
   * hold decoded code on at least one of them. A store by any PE, or a DMA
   * write, to such a page goes to every PE so that no PE runs stale code.
   */
  private readonly codeHolders: CodeHolder[] = [];
  readonly codePages = new Set<number>();
  private lastRam: RamRegion | null = null;

  constructor(opts: PhysicalBusOptions = {}) {
    this.arena = opts.arenaRam === undefined ? null : HostArena.create(opts.arenaRam);
  }

  /** Zeroed memory for RAM: in the host arena while it has room, else an ordinary buffer. */
  allocRam(size: number): Uint8Array {
    return this.arena?.bytes(size) ?? new Uint8Array(size);
  }

  addRam(base: number, sizeOrBuffer: number | Uint8Array, readonly = false): RamRegion {
    const bytes = typeof sizeOrBuffer === 'number' ? this.allocRam(sizeOrBuffer) : sizeOrBuffer;
    const size = bytes.length;
    this.checkFree(base, size, 'RAM');
    const host = this.arena?.offsetOf(bytes) ?? -1;
    const region: RamRegion = { base, size, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, size), readonly, host };
    this.ram.push(region);
    this.ram.sort((a, b) => a.base - b.base);
    return region;
  }

  removeRam(region: RamRegion): void {
    const i = this.ram.indexOf(region);
    if (i < 0) throw new BusError('removeRam: region is not on the bus');
    this.ram.splice(i, 1);
    if (this.lastRam === region) this.lastRam = null;
  }

  addDevice(base: number, size: number, device: MmioDevice): void {
    this.checkFree(base, size, device.name);
    this.mmio.push({ base, size, device });
  }

  private checkFree(base: number, size: number, what: string): void {
    if (!Number.isSafeInteger(base) || base < 0 || size <= 0) throw new BusError(`${what}: bad range base=0x${base.toString(16)} size=0x${size.toString(16)}`);
    const end = base + size;
    for (const r of [...this.ram, ...this.mmio]) {
      if (base < r.base + r.size && r.base < end) {
        const other = 'device' in r ? (r as MmioMapping).device.name : 'RAM';
        throw new BusError(`${what} at 0x${base.toString(16)}+0x${size.toString(16)} overlaps ${other} at 0x${r.base.toString(16)}+0x${r.size.toString(16)}`);
      }
    }
  }

  /** The RAM region holding `pa`, or null. */
  findRam(pa: number): RamRegion | null {
    const last = this.lastRam;
    if (last !== null && pa >= last.base && pa < last.base + last.size) return last;
    for (const r of this.ram) {
      if (pa >= r.base && pa < r.base + r.size) {
        this.lastRam = r;
        return r;
      }
    }
    return null;
  }

  findDevice(pa: number): MmioMapping | null {
    for (const m of this.mmio) if (pa >= m.base && pa < m.base + m.size) return m;
    return null;
  }

  /** Copies bytes into RAM (loaders, DMA). Throws if any byte falls outside RAM. */
  writeBytes(pa: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const r = this.findRam(pa + done);
      if (r === null) throw new BusError(`write of ${data.length} bytes at 0x${pa.toString(16)}: 0x${(pa + done).toString(16)} is not RAM`);
      const off = pa + done - r.base;
      const n = Math.min(data.length - done, r.size - off);
      r.bytes.set(data.subarray(done, done + n), off);
      done += n;
    }
    this.invalidateCode(pa, data.length);
  }

  attachCodeHolder(h: CodeHolder): void {
    this.codeHolders.push(h);
  }

  /** A PE decoded code from `page`: every PE's fast write path for it must go. */
  addCodePage(page: number): void {
    if (this.codePages.has(page)) return;
    this.codePages.add(page);
    for (const h of this.codeHolders) h.dropWritesToPage(page);
  }

  /** A PE dropped its code from `page`; forget the page once no PE holds code there. */
  codePageDropped(page: number): void {
    for (const h of this.codeHolders) if (h.hasCodePage(page)) return;
    this.codePages.delete(page);
  }

  /** Drops decoded code overlapping [pa, pa+len) on every PE. */
  invalidateCode(pa: number, len: number): void {
    if (this.codePages.size === 0) return;
    for (const h of this.codeHolders) h.invalidateCode(pa, len);
  }

  readBytes(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const r = this.findRam(pa + done);
      if (r === null) throw new BusError(`read of ${len} bytes at 0x${pa.toString(16)}: 0x${(pa + done).toString(16)} is not RAM`);
      const off = pa + done - r.base;
      const n = Math.min(len - done, r.size - off);
      out.set(r.bytes.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }
}
