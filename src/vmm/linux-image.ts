/**
 * Loader for the Linux arm64 kernel Image and the files that boot with it,
 * following Linux's Documentation/arch/arm64/booting.rst:
 *
 * - The 64-byte Image header: code0/code1, text_offset (u64 at 0x08),
 *   image_size (u64 at 0x10), flags (u64 at 0x18), magic "ARM\x64" at 0x38,
 *   the PE header offset at 0x3c (EFI stub kernels start with "MZ").
 * - flags bit 0 is the kernel's endianness (1 = big-endian), bits 1-2 its
 *   page size (0 unspecified, 1 4K, 2 16K, 3 64K), bit 3 its placement
 *   (0: the 2 MiB aligned base should be as close as possible to the start
 *   of DRAM; 1: anywhere in physical memory).
 * - An image_size of 0 marks a kernel older than v3.17: text_offset is then
 *   0x80000 and the memory the kernel needs beyond the file is unknown.
 * - The Image is placed text_offset bytes above a 2 MiB aligned base, with
 *   image_size bytes from its start free for the kernel.
 * - The DTB is 8-byte aligned and at most 2 MiB; older kernels also want it
 *   within 512 MiB of the kernel's start and not crossing a 2 MiB boundary,
 *   which the layout here satisfies too.
 * - The initrd lies entirely within a 1 GiB aligned window of at most 32 GiB
 *   that also covers the kernel Image.
 *
 * Compressed kernels (Image.gz, or an EFI zboot image with a gzip payload) are
 * decompressed with node:zlib; Debian's arm64 vmlinuz is a plain Image.
 */
import { gunzipSync } from 'node:zlib';
import { ImageError } from './elf.js';

const MiB = 1024 * 1024;
const SZ_2M = 2 * MiB;
const GiB = 1024 * MiB;
export const ARM64_IMAGE_MAGIC = 0x644d5241; // "ARM\x64" read little-endian
const HEADER_SIZE = 64;
const LEGACY_TEXT_OFFSET = 0x80000;
export const MAX_DTB_SIZE = SZ_2M;

export interface LinuxImageHeader {
  textOffset: number;
  /** Bytes from the start of the Image the kernel uses (file plus BSS and early tables). */
  imageSize: number;
  flags: number;
  /** Kernel page size in bytes, 0 if the header does not say. */
  pageSize: 0 | 4096 | 16384 | 65536;
  /** flags bit 3: the 2 MiB aligned base may be anywhere in physical memory. */
  anywhere: boolean;
  /** The Image starts with "MZ": it carries an EFI stub (a PE/COFF header at peOffset). */
  efiStub: boolean;
  /** image_size was 0: a kernel older than v3.17 (text_offset assumed 0x80000). */
  legacy: boolean;
}

export interface LinuxImage {
  header: LinuxImageHeader;
  /** The Image bytes (decompressed if the file was compressed). */
  bytes: Uint8Array;
  /** How the file was packed: 'none', 'gzip' or 'efi-zboot-gzip'. */
  compression: 'none' | 'gzip' | 'efi-zboot-gzip';
}

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

function ascii(b: Uint8Array, off: number, len: number): string {
  return String.fromCharCode(...b.subarray(off, off + len));
}

/** Parses (and if needed decompresses) a kernel Image. `name` prefixes error messages. */
export function parseLinuxImage(file: Uint8Array, name = 'kernel'): LinuxImage {
  const fail = (msg: string): never => {
    throw new ImageError(`${name}: ${msg}`);
  };
  let bytes = file;
  let compression: LinuxImage['compression'] = 'none';
  const gunzip = (b: Uint8Array, what: string): Uint8Array => {
    try {
      const out = gunzipSync(b);
      // A plain Uint8Array view of the output, not a second copy of the decompressed kernel.
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    } catch (e) {
      return fail(`${what} does not decompress (${(e as Error).message}): truncated or corrupt file?`);
    }
  };
  if (isGzip(bytes)) {
    bytes = gunzip(bytes, 'gzip-compressed kernel (Image.gz)');
    compression = 'gzip';
  } else if (bytes.length >= 0x40 && bytes[0] === 0x4d && bytes[1] === 0x5a && ascii(bytes, 4, 4) === 'zimg') {
    // EFI zboot: a PE/COFF decompressor wrapping a compressed Image; payload
    // offset (u32 at 0x08) and size (u32 at 0x0c), compression name at 0x18.
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const off = dv.getUint32(8, true);
    const size = dv.getUint32(12, true);
    const comp = ascii(bytes, 0x18, 32).replace(/\0.*$/s, '');
    if (comp !== 'gzip') fail(`EFI zboot kernel compressed with '${comp}': only gzip can be decompressed here; give the plain Image (arch/arm64/boot/Image)`);
    if (off + size > bytes.length) fail(`EFI zboot payload 0x${off.toString(16)}+0x${size.toString(16)} runs past the end of the file (${bytes.length} bytes): truncated?`);
    bytes = gunzip(bytes.subarray(off, off + size), 'EFI zboot gzip payload');
    compression = 'efi-zboot-gzip';
  }

  if (bytes.length >= 4 && bytes[0] === 0x7f && ascii(bytes, 1, 3) === 'ELF') fail('this is an ELF file (vmlinux?), not an arm64 Image: give arch/arm64/boot/Image or /boot/vmlinuz-*');
  if (bytes.length < HEADER_SIZE) fail(`truncated: ${bytes.length} bytes is shorter than the 64-byte arm64 Image header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0x38, true);
  if (magic !== ARM64_IMAGE_MAGIC) {
    if (bytes.length >= 0x206 && ascii(bytes, 0x202, 4) === 'HdrS') fail('this is an x86 kernel (bzImage), not an arm64 Image');
    if (dv.getUint32(0x24, true) === 0x016f2818) fail('this is a 32-bit ARM zImage, not an arm64 Image');
    fail(`bad magic 0x${magic.toString(16)} at offset 0x38 (expected 0x644d5241, "ARM\\x64"): not an arm64 Linux Image`);
  }
  const code0 = dv.getUint32(0, true);
  const efiStub = (code0 & 0xffff) === 0x5a4d;
  // code0 is `b stext` (opcode 000101) or, with an EFI stub, an instruction whose low bytes read "MZ".
  if (!efiStub && code0 >>> 26 !== 0b000101) fail(`code0 0x${code0.toString(16)} at offset 0 is neither a branch nor an EFI "MZ" stub: corrupt Image?`);
  if (efiStub) checkPeSections(dv, fail);
  const big = (off: number, what: string): number => {
    const v = dv.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} 0x${v.toString(16)} at 0x${off.toString(16)} is absurdly large: corrupt header?`);
    return Number(v);
  };
  let textOffset = big(0x08, 'text_offset');
  let imageSize = big(0x10, 'image_size');
  const flags = big(0x18, 'flags');
  const legacy = imageSize === 0;
  if (legacy) {
    textOffset = LEGACY_TEXT_OFFSET;
    imageSize = (bytes.length + 0xfff) & ~0xfff;
  }
  if (flags & 1) fail('big-endian kernel (flags bit 0 set): nestvisor runs little-endian guests; use a little-endian (aarch64, not aarch64_be) kernel');
  if (textOffset % 4096 !== 0 || textOffset >= SZ_2M) fail(`text_offset 0x${textOffset.toString(16)} is not a page-aligned offset below 2 MiB: corrupt header?`);
  if (imageSize < bytes.length) fail(`image_size 0x${imageSize.toString(16)} is smaller than the Image file (0x${bytes.length.toString(16)} bytes): corrupt header?`);
  const pageSize = ([0, 4096, 16384, 65536] as const)[(flags >> 1) & 3];
  return { header: { textOffset, imageSize, flags, pageSize, anywhere: (flags & 8) !== 0, efiStub, legacy }, bytes, compression };
}

/**
 * An EFI-stub Image carries a PE/COFF header (offset at 0x3c) whose section
 * table says where each section's data lies in the file: a file shorter than
 * the last section's PointerToRawData + SizeOfRawData is truncated.
 */
function checkPeSections(dv: DataView, fail: (msg: string) => never): void {
  const pe = dv.getUint32(0x3c, true);
  if (pe + 24 > dv.byteLength || dv.getUint32(pe, true) !== 0x00004550) return; // no "PE\0\0": nothing to check
  const sections = dv.getUint16(pe + 6, true);
  const table = pe + 24 + dv.getUint16(pe + 20, true);
  let end = 0;
  for (let i = 0; i < sections; i++) {
    const o = table + 40 * i;
    if (o + 40 > dv.byteLength) fail(`truncated: the PE/COFF section table runs past the end of the file (${dv.byteLength} bytes)`);
    end = Math.max(end, dv.getUint32(o + 20, true) + dv.getUint32(o + 16, true));
  }
  if (end > dv.byteLength) fail(`truncated: the file is ${dv.byteLength} bytes but its PE/COFF sections end at ${end}; copy the kernel again`);
}

export interface BootLayout {
  /** Where the Image is copied and entered: a 2 MiB aligned base plus text_offset. */
  kernelAddr: number;
  /** End of the kernel's image_size. */
  kernelEnd: number;
  dtbAddr: number;
  /** Room reserved for the DTB (2 MiB, the protocol's maximum). */
  dtbMax: number;
  initrdStart?: number;
  initrdEnd?: number;
  /** Highest address used by anything loaded, exclusive. */
  end: number;
}

export interface PlanOptions {
  /** Initrd size in bytes, if any. */
  initrdSize?: number;
  /** Free RAM to leave after everything loaded, for the kernel to run in (default 16 MiB). */
  headroom?: number;
}

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/**
 * Where the kernel, DTB and initrd go in RAM `[ram.base, ram.base + ram.size)`:
 * the kernel at the lowest 2 MiB aligned base in RAM plus text_offset; the DTB
 * at the next 2 MiB boundary after image_size (so it never crosses one and stays
 * within 512 MiB of the kernel); the initrd at the 2 MiB boundary after the DTB's
 * 2 MiB slot. Fails with the RAM size needed when it does not fit.
 */
export function planLinuxBoot(h: LinuxImageHeader, ram: { base: number; size: number }, opts: PlanOptions = {}, name = 'kernel'): BootLayout {
  const base = alignUp(ram.base, SZ_2M);
  const kernelAddr = base + h.textOffset;
  const kernelEnd = kernelAddr + h.imageSize;
  const dtbAddr = alignUp(kernelEnd, SZ_2M);
  let end = dtbAddr + MAX_DTB_SIZE;
  let initrdStart: number | undefined;
  let initrdEnd: number | undefined;
  if (opts.initrdSize !== undefined && opts.initrdSize > 0) {
    initrdStart = end;
    initrdEnd = initrdStart + opts.initrdSize;
    end = initrdEnd;
    const window = Math.floor(kernelAddr / GiB) * GiB;
    if (initrdEnd > window + 32 * GiB) throw new ImageError(`${name}: the initrd would end at 0x${initrdEnd.toString(16)}, outside the 32 GiB window from 0x${window.toString(16)} that must hold both kernel and initrd`);
  }
  const needed = end + (opts.headroom ?? 16 * MiB) - ram.base;
  if (needed > ram.size) {
    const mib = Math.ceil(needed / MiB);
    const what = initrdStart !== undefined ? `kernel (image_size ${Math.ceil(h.imageSize / MiB)} MiB), DTB and initrd (${Math.ceil((opts.initrdSize ?? 0) / MiB)} MiB)` : `kernel (image_size ${Math.ceil(h.imageSize / MiB)} MiB) and DTB`;
    throw new ImageError(`${name}: kernel needs at least ${mib} MiB of RAM for the ${what} plus room to run, but the VM has ${Math.floor(ram.size / MiB)} MiB: give -m ${alignUp(mib, 64)}M or more`);
  }
  return { kernelAddr, kernelEnd, dtbAddr, dtbMax: MAX_DTB_SIZE, initrdStart, initrdEnd, end };
}

/** Whatever can take bytes at a guest physical address (PhysicalBus does). */
export interface GuestLoader {
  writeBytes(pa: number, data: Uint8Array): void;
}

export interface LinuxBootFiles {
  kernel: LinuxImage;
  dtb: Uint8Array;
  initrd?: Uint8Array;
}

/**
 * Copies kernel, DTB and initrd to the places `layout` gives (plan with the
 * same initrd size, build the DTB with layout.initrdStart/End, then load).
 * Zeroes the kernel's memory beyond the file up to image_size (its BSS).
 * Returns the boot register values: PC = kernelAddr, x0 = dtbAddr, x1-x3 = 0.
 */
export function loadLinux(mem: GuestLoader, layout: BootLayout, files: LinuxBootFiles, name = 'kernel'): { pc: number; x0: number } {
  if (files.dtb.length > layout.dtbMax) throw new ImageError(`${name}: DTB is ${files.dtb.length} bytes; the boot protocol allows at most 2 MiB`);
  if ((layout.dtbAddr & 7) !== 0) throw new ImageError(`${name}: DTB address 0x${layout.dtbAddr.toString(16)} is not 8-byte aligned`);
  const hasInitrd = files.initrd !== undefined && files.initrd.length > 0;
  if (hasInitrd !== (layout.initrdStart !== undefined) || (hasInitrd && layout.initrdEnd! - layout.initrdStart! !== files.initrd!.length)) {
    throw new ImageError(`${name}: the boot layout was planned for a different initrd size`);
  }
  const k = files.kernel;
  mem.writeBytes(layout.kernelAddr, k.bytes);
  if (k.header.imageSize > k.bytes.length) mem.writeBytes(layout.kernelAddr + k.bytes.length, new Uint8Array(k.header.imageSize - k.bytes.length));
  mem.writeBytes(layout.dtbAddr, files.dtb);
  if (hasInitrd) mem.writeBytes(layout.initrdStart!, files.initrd!);
  return { pc: layout.kernelAddr, x0: layout.dtbAddr };
}

/** The raw-binary loader: `bytes` at `addr`, which must lie in RAM. */
export function loadRaw(mem: GuestLoader, addr: number, bytes: Uint8Array, ram: { base: number; size: number }, name = 'image'): void {
  if (addr < ram.base || addr + bytes.length > ram.base + ram.size) {
    throw new ImageError(`${name}: ${bytes.length} bytes at 0x${addr.toString(16)} do not fit in guest RAM 0x${ram.base.toString(16)}-0x${(ram.base + ram.size).toString(16)}: give more memory (-m) or another load address`);
  }
  mem.writeBytes(addr, bytes);
}
