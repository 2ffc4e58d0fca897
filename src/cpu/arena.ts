/**
 * The host arena: one WebAssembly.Memory that holds guest RAM and the PE
 * state the WebAssembly tier reads (X registers, the TLBs' tag and host
 * arrays, a scratch area per PE), so that a compiled block reaches all of it
 * with plain loads and stores (jit/wasm). JavaScript sees the same bytes
 * through typed-array views, exactly as it would a separate ArrayBuffer.
 *
 * The memory is sized once and never grown: growing a WebAssembly.Memory
 * detaches its ArrayBuffer, and with it every view the processor holds.
 * Allocation is a bump pointer (RAM regions and PEs live as long as their
 * machine); when the arena is full the caller gets an ordinary buffer and
 * the WebAssembly tier simply does not reach that memory.
 */

/** Bytes the arena keeps beyond the RAM it was sized for: PE state (about 100 KiB per PE). */
const STATE_RESERVE = 4 * 1024 * 1024;
const WASM_PAGE = 65536;
/** A wasm32 memory holds at most 2^32 bytes. */
const MAX_PAGES = 65536;

export class HostArena {
  readonly memory: WebAssembly.Memory;
  readonly buffer: ArrayBuffer;
  private used = 0;

  private constructor(pages: number) {
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.buffer = this.memory.buffer;
    // Offset 0 stays unused, so that no allocation is at address 0.
    this.used = 64;
  }

  /**
   * An arena for `ramBytes` of guest RAM plus PE state, or null where the
   * host has no WebAssembly, the size does not fit a 32-bit memory, or the
   * host refuses the reservation (the processor then runs without the tier).
   */
  static create(ramBytes: number): HostArena | null {
    if (typeof WebAssembly === 'undefined' || !Number.isSafeInteger(ramBytes) || ramBytes < 0) return null;
    const pages = Math.ceil((ramBytes + STATE_RESERVE) / WASM_PAGE);
    if (pages > MAX_PAGES) return null;
    try {
      return new HostArena(pages);
    } catch {
      return null;
    }
  }

  /** Reserves `bytes` aligned to `align` (a power of two); returns the offset, or -1 when the arena is full. */
  alloc(bytes: number, align = 8): number {
    const at = (this.used + align - 1) & ~(align - 1);
    if (at + bytes > this.buffer.byteLength) return -1;
    this.used = at + bytes;
    return at;
  }

  /** Zeroed bytes in the arena, or null when it is full. */
  bytes(size: number, align = 4096): Uint8Array | null {
    const at = this.alloc(size, align);
    return at < 0 ? null : new Uint8Array(this.buffer, at, size);
  }

  /** The arena offset of `b`'s first byte, or -1 when `b` is not in the arena. */
  offsetOf(b: ArrayBufferView): number {
    return b.buffer === this.buffer ? b.byteOffset : -1;
  }
}
