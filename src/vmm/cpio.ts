/**
 * The "newc" cpio format (SVR4 with no CRC, magic "070701"), the format of
 * Linux initramfs archives (Linux's Documentation/driver-api/early-userspace/
 * buffer-format.rst). Each entry is a 110-byte ASCII header of thirteen
 * 8-digit hex fields (ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
 * devminor, rdevmajor, rdevminor, namesize, check), the NUL-terminated name
 * padded so that header plus name is a multiple of 4, then the data padded
 * to 4. The archive ends with an entry named "TRAILER!!!".
 *
 * Written archives are reproducible: mtime 0, uid/gid 0 unless given, inode
 * numbers in entry order.
 */
import { ImageError } from './elf.js';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

export interface CpioEntry {
  /** Path inside the archive, without a leading "/" ("bin/sh"). */
  name: string;
  /** File type and permission bits (st_mode). */
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  /** File contents, or a symlink's target. */
  data?: Uint8Array;
  /** Device number of a character or block special file. */
  rdevMajor?: number;
  rdevMinor?: number;
  nlink?: number;
}

const TRAILER = 'TRAILER!!!';
const enc = new TextEncoder();

function field(v: number, what: string, name: string): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`cpio: ${name}: ${what} ${v} does not fit in 32 bits`);
  return v.toString(16).padStart(8, '0');
}

/** Writes a newc archive of `entries` followed by the trailer. */
export function writeCpio(entries: readonly CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (b: Uint8Array): void => {
    parts.push(b);
    size += b.length;
  };
  const pad = (): void => {
    const n = (4 - (size & 3)) & 3;
    if (n) push(new Uint8Array(n));
  };
  const seen = new Set<string>();
  let ino = 1;
  const one = (e: CpioEntry, inode: number): void => {
    const name = e.name.replace(/^\/+/, '');
    if (name === '' || name.split('/').some((p) => p === '..')) throw new Error(`cpio: bad entry name '${e.name}'`);
    if (name !== TRAILER) {
      if (seen.has(name)) throw new Error(`cpio: '${name}' appears twice`);
      seen.add(name);
    }
    const nameBytes = enc.encode(name);
    const data = e.data ?? new Uint8Array(0);
    const type = e.mode & S_IFMT;
    const nlink = e.nlink ?? (type === S_IFDIR ? 2 : 1);
    const h = '070701' + [inode, e.mode, e.uid ?? 0, e.gid ?? 0, nlink, e.mtime ?? 0, data.length, 0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, nameBytes.length + 1, 0]
      .map((v, i) => field(v, ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'filesize', 'devmajor', 'devminor', 'rdevmajor', 'rdevminor', 'namesize', 'check'][i], name)).join('');
    push(enc.encode(h));
    push(nameBytes);
    push(new Uint8Array(1));
    pad();
    if (data.length) {
      push(data);
      pad();
    }
  };
  for (const e of entries) {
    if ((e.mode & S_IFMT) === 0) throw new Error(`cpio: '${e.name}': mode 0o${e.mode.toString(8)} has no file type`);
    one(e, ino++);
  }
  one({ name: TRAILER, mode: 0, nlink: 1 }, 0);
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Reads a newc archive (several concatenated archives too, as the kernel accepts), stopping at each trailer. */
export function readCpio(bytes: Uint8Array, name = 'cpio'): CpioEntry[] {
  const fail = (msg: string): never => {
    throw new ImageError(`${name}: ${msg}`);
  };
  const dec = new TextDecoder();
  const out: CpioEntry[] = [];
  let p = 0;
  while (p < bytes.length) {
    // Zero padding between concatenated archives.
    if (bytes[p] === 0) {
      p++;
      continue;
    }
    if (p + 110 > bytes.length) fail(`truncated header at offset 0x${p.toString(16)}`);
    const magic = dec.decode(bytes.subarray(p, p + 6));
    if (magic !== '070701' && magic !== '070702') fail(`bad magic '${magic}' at offset 0x${p.toString(16)} (expected 070701: newc)`);
    const f: number[] = [];
    for (let i = 0; i < 13; i++) {
      const s = dec.decode(bytes.subarray(p + 6 + 8 * i, p + 14 + 8 * i));
      if (!/^[0-9a-fA-F]{8}$/.test(s)) fail(`bad header field '${s}' at offset 0x${(p + 6 + 8 * i).toString(16)}`);
      f.push(parseInt(s, 16));
    }
    const [, mode, uid, gid, nlink, mtime, filesize, , , rdevMajor, rdevMinor, namesize] = f;
    const nameStart = p + 110;
    if (namesize < 1 || nameStart + namesize > bytes.length) fail(`name of ${namesize} bytes at offset 0x${nameStart.toString(16)} runs past the end`);
    const nm = dec.decode(bytes.subarray(nameStart, nameStart + namesize - 1));
    const dataStart = (nameStart + namesize + 3) & ~3;
    if (dataStart + filesize > bytes.length) fail(`'${nm}': ${filesize} bytes of data at offset 0x${dataStart.toString(16)} run past the end: truncated archive`);
    p = (dataStart + filesize + 3) & ~3;
    if (nm === TRAILER) continue;
    out.push({ name: nm, mode, uid, gid, nlink, mtime, data: bytes.slice(dataStart, dataStart + filesize), rdevMajor, rdevMinor });
  }
  return out;
}
