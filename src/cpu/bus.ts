/**
 * The physical address space as the PE sees it: RAM regions backed by host
 * buffers, and MMIO devices that see only offsets into their own window
 * (the bus/device separation of Firecracker's `vstate/bus.rs`).
 *
 * Addresses are JavaScript numbers: physical addresses are at most 52 bits
 * (FEAT_LPA), which a double holds exactly.
 */

export interface RamRegion {
  readonly base: number;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly readonly: boolean;
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

export class PhysicalBus {
  readonly ram: RamRegion[] = [];
  readonly mmio: MmioMapping[] = [];
  /** Called when a RAM write that did not come from the PE's own store path lands (DMA), so decoded code can be dropped. */
  onExternalWrite: ((pa: number, len: number) => void) | null = null;
  private lastRam: RamRegion | null = null;

  addRam(base: number, sizeOrBuffer: number | Uint8Array, readonly = false): RamRegion {
    const bytes = typeof sizeOrBuffer === 'number' ? new Uint8Array(sizeOrBuffer) : sizeOrBuffer;
    const size = bytes.length;
    this.checkFree(base, size, 'RAM');
    const region: RamRegion = { base, size, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, size), readonly };
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
    this.onExternalWrite?.(pa, data.length);
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
