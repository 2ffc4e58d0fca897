/**
 * ELF64 loader for AArch64 images: checks the header and copies each PT_LOAD
 * segment to its physical address. Every problem is reported with what and
 * where, never as a host crash.
 */
import type { PhysicalBus } from '../cpu/bus.js';

export class ImageError extends Error {}

export interface ElfSegment {
  readonly paddr: number;
  readonly vaddr: number;
  readonly fileSize: number;
  readonly memSize: number;
  readonly flags: number;
  readonly data: Uint8Array;
}

export interface ElfImage {
  readonly entry: bigint;
  readonly segments: readonly ElfSegment[];
}

const EM_AARCH64 = 183;
const PT_LOAD = 1;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** Parses an ELF64 little-endian AArch64 executable. `name` is used in error messages. */
export function parseElf(bytes: Uint8Array, name = 'image'): ElfImage {
  const fail = (msg: string): never => {
    throw new ImageError(`${name}: ${msg}`);
  };
  if (!isElf(bytes)) fail('not an ELF file (bad magic)');
  if (bytes.length < 64) fail(`truncated ELF header (${bytes.length} bytes, need 64)`);
  if (bytes[4] !== 2) fail('not a 64-bit ELF (EI_CLASS is not ELFCLASS64)');
  if (bytes[5] !== 1) fail('not a little-endian ELF (EI_DATA is not ELFDATA2LSB)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_AARCH64) fail(`e_machine is ${machine}, not EM_AARCH64 (183): not an arm64 image`);
  if (type !== 2) fail(`e_type is ${type}, not ET_EXEC (2): only statically linked executables can be loaded`);
  const entry = dv.getBigUint64(24, true);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize < 56) fail(`e_phentsize ${phentsize} is too small`);
  if (phoff + phnum * phentsize > bytes.length) fail(`program headers at 0x${phoff.toString(16)} (${phnum} x ${phentsize}) run past the end of the file (${bytes.length} bytes)`);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const flags = dv.getUint32(o + 4, true);
    const offset = Number(dv.getBigUint64(o + 8, true));
    const vaddr = Number(dv.getBigUint64(o + 16, true));
    const paddr = Number(dv.getBigUint64(o + 24, true));
    const fileSize = Number(dv.getBigUint64(o + 32, true));
    const memSize = Number(dv.getBigUint64(o + 40, true));
    if (fileSize > memSize) fail(`segment ${i}: p_filesz 0x${fileSize.toString(16)} exceeds p_memsz 0x${memSize.toString(16)}`);
    if (offset + fileSize > bytes.length) fail(`segment ${i}: file range 0x${offset.toString(16)}+0x${fileSize.toString(16)} runs past the end of the file (${bytes.length} bytes): truncated image?`);
    segments.push({ paddr, vaddr, fileSize, memSize, flags, data: bytes.subarray(offset, offset + fileSize) });
  }
  if (segments.length === 0) fail('no PT_LOAD segments');
  return { entry, segments };
}

/** Copies the segments into RAM (zero-filling .bss); fails clearly when a segment is not inside RAM. */
export function loadElf(bus: PhysicalBus, img: ElfImage, name = 'image'): void {
  for (const s of img.segments) {
    const r = bus.findRam(s.paddr);
    if (r === null || s.paddr + s.memSize > r.base + r.size) {
      const ram = bus.ram.map((x) => `0x${x.base.toString(16)}-0x${(x.base + x.size).toString(16)}`).join(', ');
      throw new ImageError(`${name}: segment at 0x${s.paddr.toString(16)}+0x${s.memSize.toString(16)} does not fit in guest RAM (${ram}): give the VM more memory (-m) or link the image inside RAM`);
    }
    bus.writeBytes(s.paddr, s.data);
    if (s.memSize > s.fileSize) bus.writeBytes(s.paddr + s.fileSize, new Uint8Array(s.memSize - s.fileSize));
  }
}
