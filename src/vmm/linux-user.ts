/**
 * A minimal Linux user-mode runner for statically linked AArch64 programs,
 * like QEMU's linux-user (`qemu-aarch64`) for static binaries: no kernel, the
 * runner plays the kernel's part.
 *
 * Machine: the PE runs the program at EL0 with stage 1 on. Physical = virtual
 * (an identity map built here, 4 KiB granule, 48-bit VAs, Normal write-back
 * memory): the image and its brk heap in one RAM region at the ELF's
 * addresses, an anonymous-mmap region, the stack; each page EL0-accessible
 * with the segment's permissions (R/W/X -> AP, UXN; PXN everywhere EL0 can
 * reach). The EL1 side is one vector page (EL1-only) whose entries are
 * `hvc #k; eret`: an SVC (or any fault) from EL0 enters EL1 at offset 0x400,
 * the HVC ends `pe.run()` with RunExit.El2, the runner performs the system
 * call (number in x8, arguments in x0..x5, result to x0) and resumes the PE
 * at the ERET, which returns to EL0 after the SVC. Faults end the run as the
 * signal Linux would deliver (exit status 128 + signo, as a shell shows it).
 *
 * System registers as Linux sets them for user space: SCTLR_EL1 with SA0,
 * UCT, DZE, UCI, nTWE (not nTWI: WFI at EL0 traps and is treated as a
 * yield), TCR_EL1.TBI0, CPACR_EL1.FPEN = 0b11, CNTKCTL_EL1.EL0VCTEN.
 * AT_HWCAP/AT_HWCAP2 are derived from the ID registers as Linux computes
 * them, except HWCAP_CPUID: Linux emulates EL0 reads of MIDR_EL1 and the ID
 * registers, this runner does not, so the program is not told it may read
 * them (glibc then leaves MIDR at 0).
 */
import { PhysicalBus, RamRegion } from '../cpu/bus.js';
import { PE, RunExit } from '../cpu/pe.js';
import { CpuFeatures, defaultFeatures, idRegisters } from '../cpu/features.js';
import { sr } from '../arch/sysregs.js';
import { EC, ecName } from '../arch/esr.js';
import { VECTOR_SYNC } from '../cpu/exceptions.js';
import { ImageError, isElf, parseElf } from './elf.js';

export interface LinuxUserOptions {
  /** argv[0] and the rest (default: [name]). */
  argv?: string[];
  /** Environment strings "K=V" (default: none). */
  env?: string[];
  features?: Partial<CpuFeatures>;
  /** Receives what the program writes to fd 1 and 2. */
  onStdout?: (bytes: Uint8Array) => void;
  onStderr?: (bytes: Uint8Array) => void;
  /** Bytes available on fd 0 (default: none, EOF). */
  stdin?: Uint8Array;
  /** Diagnostics (unknown system calls, the fatal signal); default: none. */
  onDiagnostic?: (line: string) => void;
  /** Absolute path readlink("/proc/self/exe") answers (default: none, -ENOENT). */
  exePath?: string;
  /** Give up after this many instructions (default 1e11). */
  maxInsns?: number;
  /** Program name for messages (default 'program'). */
  name?: string;
  /** Heap (brk) limit in bytes (default 64 MiB), mmap region (default 256 MiB), stack (default 8 MiB). */
  heapSize?: number;
  mmapSize?: number;
  stackSize?: number;
  /** Seed of getrandom and AT_RANDOM bytes (deterministic). */
  seed?: number;
}

export interface LinuxUserResult {
  /** 'exit': exit/exit_group; 'signal': killed by a fault or a signal it sent itself; 'budget'; 'error': the runner could not go on. */
  exit: 'exit' | 'signal' | 'budget' | 'error';
  /** The exit status a shell would show: the exit code, or 128 + signo. */
  status: number;
  signal?: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  insns: number;
  seconds: number;
  syscalls: number;
  message?: string;
  pe: PE;
}

// ---- Address map (identity: VA = PA) ----------------------------------------

const PAGE = 4096;
const MMAP_BASE = 0x7f00_0000_0000;
const STACK_TOP = 0x7fff_f000_0000;
/** EL1-only pages: the vector page and the translation tables. */
const VEC_BASE = 0xffff_ffff_f000;
const PT_BASE = 0xffff_ff00_0000;
const PT_SIZE = 0x40_0000;

const TWO32 = 4294967296;

const SIG = { SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11 } as const;
const SIGNAME: Record<number, string> = Object.fromEntries(Object.entries(SIG).map(([k, v]) => [v, k]));

// errno values (asm-generic)
const ENOENT = 2, EBADF = 9, ENOMEM = 12, EFAULT = 14, EINVAL = 22, ENOTTY = 25, ESPIPE = 29, ENOSYS = 38;

// Linux arm64 HWCAP bits (arch/arm64/include/uapi/asm/hwcap.h).
const HWCAP = { FP: 1 << 0, ASIMD: 1 << 1, AES: 1 << 3, PMULL: 1 << 4, SHA1: 1 << 5, SHA2: 1 << 6, CRC32: 1 << 7, ATOMICS: 1 << 8, FPHP: 1 << 9, ASIMDHP: 1 << 10, CPUID: 1 << 11, ASIMDRDM: 1 << 12, JSCVT: 1 << 13, FCMA: 1 << 14, LRCPC: 1 << 15, DCPOP: 1 << 16, SHA3: 1 << 17, SM3: 1 << 18, SM4: 1 << 19, ASIMDDP: 1 << 20, SHA512: 1 << 21, ASIMDFHM: 1 << 23, DIT: 1 << 24, USCAT: 1 << 25, ILRCPC: 1 << 26, FLAGM: 1 << 27 } as const;

const AT = { NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8, ENTRY: 9, UID: 11, EUID: 12, GID: 13, EGID: 14, PLATFORM: 15, HWCAP: 16, CLKTCK: 17, SECURE: 23, RANDOM: 25, HWCAP2: 26, EXECFN: 31, MINSIGSTKSZ: 51 } as const;

/** System call numbers (asm-generic/unistd.h, as arm64 uses them). */
export const SYS = {
  getcwd: 17, dup: 23, dup3: 24, fcntl: 25, ioctl: 29, faccessat: 48, openat: 56, close: 57, lseek: 62, read: 63, write: 64, readv: 65, writev: 66,
  pread64: 67, ppoll: 73, readlinkat: 78, newfstatat: 79, fstat: 80, exit: 93, exit_group: 94, set_tid_address: 96, futex: 98, set_robust_list: 99,
  nanosleep: 101, clock_gettime: 113, clock_getres: 114, clock_nanosleep: 115, sched_getaffinity: 123, sched_yield: 124, kill: 129, tkill: 130, tgkill: 131,
  sigaltstack: 132, rt_sigaction: 134, rt_sigprocmask: 135, times: 153, uname: 160, getrlimit: 163, getrusage: 165, prctl: 167, gettimeofday: 169, getpid: 172, getppid: 173,
  getuid: 174, geteuid: 175, getgid: 176, getegid: 177, gettid: 178, sysinfo: 179, brk: 214, munmap: 215, mremap: 216, mmap: 222, mprotect: 226, madvise: 233,
  prlimit64: 261, getrandom: 278, statx: 291, rseq: 293,
} as const;
const SYSNAME: Record<number, string> = Object.fromEntries(Object.entries(SYS).map(([k, v]) => [v, k]));

const hvc = (imm: number): number => (0xd4000002 | (imm << 5)) >>> 0;
const ERET = 0xd69f03e0;

const ESR_EL1 = sr('ESR_EL1');
const ELR_EL1 = sr('ELR_EL1');
const FAR_EL1 = sr('FAR_EL1');
const ESR_EL2 = sr('ESR_EL2');

const hex = (n: number): string => `0x${n.toString(16)}`;
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
const alignDown = (n: number, a: number): number => Math.floor(n / a) * a;

interface ElfHeaderInfo {
  type: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  /** PT_LOAD: [offset, vaddr, filesz] for locating the program headers in memory. */
  loads: [number, number, number][];
}

function elfHeaderInfo(bytes: Uint8Array): ElfHeaderInfo {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  const loads: [number, number, number][] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, true) === 1) loads.push([Number(dv.getBigUint64(o + 8, true)), Number(dv.getBigUint64(o + 16, true)), Number(dv.getBigUint64(o + 32, true))]);
  }
  return { type: dv.getUint16(16, true), phoff, phentsize, phnum, loads };
}

/** Stage-1 tables (4 KiB granule, 4 levels from level 0) written into a RAM region. */
class PageTables {
  private next: number;
  readonly root: number;
  constructor(private readonly ram: RamRegion) {
    this.next = ram.base;
    this.root = this.alloc();
  }
  private alloc(): number {
    const a = this.next;
    this.next += PAGE;
    if (this.next > this.ram.base + this.ram.size) throw new Error('linux-user: translation tables need more room');
    this.ram.bytes.fill(0, a - this.ram.base, a - this.ram.base + PAGE);
    return a;
  }
  private rd(pa: number): [number, number] {
    const o = pa - this.ram.base;
    return [this.ram.view.getUint32(o, true), this.ram.view.getUint32(o + 4, true)];
  }
  private wr(pa: number, lo: number, hi: number): void {
    const o = pa - this.ram.base;
    this.ram.view.setUint32(o, lo >>> 0, true);
    this.ram.view.setUint32(o + 4, hi >>> 0, true);
  }
  /** Maps [va, va+size) to itself with leaf attributes lo/hi, using 2 MiB blocks where aligned. */
  map(va: number, size: number, lo: number, hi: number): void {
    for (let off = 0; off < size; ) {
      const v = va + off;
      const block = v % 0x20_0000 === 0 && size - off >= 0x20_0000;
      this.leaf(v, block ? 2 : 3, lo, hi);
      off += block ? 0x20_0000 : PAGE;
    }
  }
  private leaf(va: number, level: number, lo: number, hi: number): void {
    let table = this.root;
    for (let l = 0; ; l++) {
      const shift = 39 - 9 * l;
      const ea = table + (Math.floor(va / 2 ** shift) % 512) * 8;
      if (l === level) {
        this.wr(ea, (va % TWO32) | lo | (level === 3 ? 3 : 1), Math.floor(va / TWO32) | hi);
        return;
      }
      let [dlo, dhi] = this.rd(ea);
      if ((dlo & 3) !== 3) {
        const t = this.alloc();
        dlo = (t % TWO32) | 3;
        dhi = Math.floor(t / TWO32);
        this.wr(ea, dlo, dhi);
      }
      table = (dhi & 0xffff) * TWO32 + ((dlo >>> 0) - (dlo & 0xfff));
    }
  }
}

// Descriptor bits: AF, SH = Inner Shareable, AttrIndx 0 (MAIR 0xff: Normal write-back); AP[1] (EL0 access), AP[2] (read-only); PXN, UXN (high half).
const D_NORMAL = (1 << 10) | (3 << 8);
const D_EL0 = 1 << 6;
const D_RO = 1 << 7;
const H_PXN = 1 << 21;
const H_UXN = 1 << 22;

/** Linux's AT_HWCAP and AT_HWCAP2 for the ID registers of `pe` (HWCAP_CPUID left out: see the file comment). */
export function linuxHwcaps(pe: PE): { hwcap: number; hwcap2: number } {
  const field = (reg: string, shift: number): number => {
    const id = sr(reg);
    const v = shift >= 32 ? pe.getSrHi(id) >>> (shift - 32) : pe.getSrLo(id) >>> shift;
    return v & 0xf;
  };
  const signed = (v: number): number => (v & 8 ? v - 16 : v);
  let h = 0;
  const fp = signed(field('ID_AA64PFR0_EL1', 16));
  const asimd = signed(field('ID_AA64PFR0_EL1', 20));
  if (fp >= 0) h |= HWCAP.FP;
  if (fp >= 1) h |= HWCAP.FPHP;
  if (asimd >= 0) h |= HWCAP.ASIMD;
  if (asimd >= 1) h |= HWCAP.ASIMDHP;
  const aes = field('ID_AA64ISAR0_EL1', 4);
  if (aes >= 1) h |= HWCAP.AES;
  if (aes >= 2) h |= HWCAP.PMULL;
  if (field('ID_AA64ISAR0_EL1', 8) >= 1) h |= HWCAP.SHA1;
  const sha2 = field('ID_AA64ISAR0_EL1', 12);
  if (sha2 >= 1) h |= HWCAP.SHA2;
  if (sha2 >= 2) h |= HWCAP.SHA512;
  if (field('ID_AA64ISAR0_EL1', 16) >= 1) h |= HWCAP.CRC32;
  if (field('ID_AA64ISAR0_EL1', 20) >= 2) h |= HWCAP.ATOMICS;
  if (field('ID_AA64ISAR0_EL1', 28) >= 1) h |= HWCAP.ASIMDRDM;
  if (field('ID_AA64ISAR0_EL1', 32) >= 1) h |= HWCAP.SHA3;
  if (field('ID_AA64ISAR0_EL1', 36) >= 1) h |= HWCAP.SM3;
  if (field('ID_AA64ISAR0_EL1', 40) >= 1) h |= HWCAP.SM4;
  if (field('ID_AA64ISAR0_EL1', 44) >= 1) h |= HWCAP.ASIMDDP;
  if (field('ID_AA64ISAR0_EL1', 48) >= 1) h |= HWCAP.ASIMDFHM;
  if (field('ID_AA64ISAR0_EL1', 52) >= 1) h |= HWCAP.FLAGM;
  if (field('ID_AA64ISAR1_EL1', 0) >= 1) h |= HWCAP.DCPOP;
  if (field('ID_AA64ISAR1_EL1', 12) >= 1) h |= HWCAP.JSCVT;
  if (field('ID_AA64ISAR1_EL1', 16) >= 1) h |= HWCAP.FCMA;
  const lrcpc = field('ID_AA64ISAR1_EL1', 20);
  if (lrcpc >= 1) h |= HWCAP.LRCPC;
  if (lrcpc >= 2) h |= HWCAP.ILRCPC;
  if (field('ID_AA64MMFR2_EL1', 32) >= 1) h |= HWCAP.USCAT;
  if (field('ID_AA64PFR0_EL1', 48) >= 1) h |= HWCAP.DIT;
  return { hwcap: h >>> 0, hwcap2: 0 };
}

/** Deterministic bytes (xorshift64*-like on two 32-bit halves; no BigInt). */
class Prng {
  private a: number;
  private b: number;
  constructor(seed: number) {
    this.a = (seed ^ 0x9e3779b9) | 1;
    this.b = (seed * 0x85ebca6b) ^ 0x6a09e667 | 0;
  }
  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) {
      let t = this.a ^ (this.a << 11);
      this.a = this.b;
      this.b = this.b ^ (this.b >>> 19) ^ t ^ (t >>> 8);
      out[i] = this.b & 0xff;
    }
  }
}

class Exit {
  constructor(readonly status: number, readonly signal?: number, readonly message?: string) {}
}

/** Runs a statically linked AArch64 Linux program; returns when it exits, is killed, or runs out of budget. */
export function runLinuxUser(elf: Uint8Array, opts: LinuxUserOptions = {}): LinuxUserResult {
  const name = opts.name ?? 'program';
  if (!isElf(elf)) throw new ImageError(`${name}: not an ELF file (bad magic)`);
  const info = elfHeaderInfo(elf);
  if (info.type === 3) throw new ImageError(`${name}: a position-independent executable (ET_DYN): only static non-PIE executables (gcc -static, without -static-pie) can be run`);
  const img = parseElf(elf, name);
  const diag = opts.onDiagnostic ?? (() => {});

  // ---- Image and heap: one RAM region from the first segment's page to the brk limit.
  let lo = Infinity, hi = 0;
  for (const s of img.segments) {
    lo = Math.min(lo, alignDown(s.vaddr, PAGE));
    hi = Math.max(hi, alignUp(s.vaddr + s.memSize, PAGE));
  }
  if (lo < PAGE) throw new ImageError(`${name}: a segment starts in page 0 (0x${lo.toString(16)})`);
  const heapSize = opts.heapSize ?? 64 * 1024 * 1024;
  if (hi + heapSize > MMAP_BASE) throw new ImageError(`${name}: segments up to 0x${hi.toString(16)} collide with the mmap region at 0x${MMAP_BASE.toString(16)}`);
  const brkBase = hi;
  const brkLimit = hi + heapSize;
  const mmapSize = opts.mmapSize ?? 256 * 1024 * 1024;
  const stackSize = opts.stackSize ?? 8 * 1024 * 1024;
  const bus = new PhysicalBus({ arenaRam: brkLimit - lo + mmapSize + stackSize + PAGE + PT_SIZE });
  const imageRam = bus.addRam(lo, brkLimit - lo);
  for (const s of img.segments) {
    imageRam.bytes.set(s.data, s.vaddr - lo);
  }
  // Per-page permissions: union of the segments' flags (PF_X 1, PF_W 2, PF_R 4) on shared pages.
  const nImagePages = (hi - lo) / PAGE;
  const pageFlags = new Uint8Array(nImagePages);
  for (const s of img.segments) {
    for (let p = alignDown(s.vaddr, PAGE); p < s.vaddr + s.memSize; p += PAGE) pageFlags[(p - lo) / PAGE] |= s.flags & 7;
  }

  const mmapRam = bus.addRam(MMAP_BASE, mmapSize);
  const stackRam = bus.addRam(STACK_TOP - stackSize, stackSize);
  const vec = bus.addRam(VEC_BASE, PAGE);
  for (let off = 0; off < 0x800; off += 0x80) {
    vec.view.setUint32(off, hvc(off >> 7), true);
    vec.view.setUint32(off + 4, ERET, true);
  }
  const ptRam = bus.addRam(PT_BASE, PT_SIZE);

  // ---- Translation tables.
  const pt = new PageTables(ptRam);
  const descFor = (flags: number): [number, number] => [D_NORMAL | D_EL0 | (flags & 2 ? 0 : D_RO), H_PXN | (flags & 1 ? 0 : H_UXN)];
  for (let i = 0; i < nImagePages; ) {
    let j = i + 1;
    while (j < nImagePages && pageFlags[j] === pageFlags[i]) j++;
    if (pageFlags[i] !== 0) {
      const [dl, dh] = descFor(pageFlags[i]);
      pt.map(lo + i * PAGE, (j - i) * PAGE, dl, dh);
    }
    i = j;
  }
  const rw = descFor(6);
  pt.map(brkBase, heapSize, rw[0], rw[1]);
  pt.map(MMAP_BASE, mmapSize, rw[0], rw[1]);
  pt.map(STACK_TOP - stackSize, stackSize, rw[0], rw[1]);
  pt.map(VEC_BASE, PAGE, D_NORMAL | D_RO, H_UXN); // EL1 only, read-only, executable at EL1

  // ---- The PE.
  // The address map uses 48-bit physical addresses (the identity map puts the stack and the EL1 pages high).
  const base = { ...defaultFeatures(), ...opts.features, paBits: 48 };
  const pe = new PE(bus, { ...base, idRegs: idRegisters(base) });
  const setReg = (name: string, v: bigint): void => pe.writeSysreg(name, v);
  setReg('VBAR_EL1', BigInt(VEC_BASE));
  setReg('MAIR_EL1', 0xffn);
  // T0SZ = 16, IRGN0 = ORGN0 = WBWA, SH0 = Inner, TG0 = 4K; EPD1 (no TTBR1 walks); IPS = 48 bits; TBI0.
  setReg('TCR_EL1', 16n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (1n << 23n) | (5n << 32n) | (1n << 37n));
  setReg('TTBR0_EL1', BigInt(pt.root));
  // SCTLR_EL1: RES1 bits, M, C, SA, SA0, I, DZE, UCT, nTWE, UCI (as Linux; nTWI clear: WFI at EL0 traps).
  const sctlr = 0x30d00800 | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 12) | (1 << 14) | (1 << 15) | (1 << 18) | (1 << 26);
  setReg('SCTLR_EL1', BigInt(sctlr >>> 0));
  setReg('CPACR_EL1', 3n << 20n);
  setReg('CNTKCTL_EL1', 1n << 1n); // EL0VCTEN: EL0 may read CNTVCT_EL0 and CNTFRQ_EL0

  // ---- The initial stack: argc, argv, envp, auxv, then the strings and AT_RANDOM bytes.
  const argv = opts.argv ?? [name];
  const env = opts.env ?? [];
  const enc = new TextEncoder();
  const stackBytes = stackRam.bytes;
  let sp = STACK_TOP;
  const pushBytes = (b: Uint8Array): number => {
    sp -= b.length;
    stackBytes.set(b, sp - stackRam.base);
    return sp;
  };
  const pushString = (s: string): number => pushBytes(enc.encode(s + '\0'));
  const execfn = pushString(argv[0] ?? name);
  const argvPtrs = argv.map(pushString);
  const envPtrs = env.map(pushString);
  const platform = pushString('aarch64');
  const prng = new Prng(opts.seed ?? 0x5eed);
  const rnd = new Uint8Array(16);
  prng.fill(rnd);
  sp = alignDown(sp, 16);
  const random = pushBytes(rnd);
  let phdr = 0;
  for (const [off, va, fsz] of info.loads) if (info.phoff >= off && info.phoff < off + fsz) phdr = va + (info.phoff - off);
  const { hwcap, hwcap2 } = linuxHwcaps(pe);
  const auxv: [number, number][] = [
    [AT.PHDR, phdr], [AT.PHENT, info.phentsize], [AT.PHNUM, info.phnum], [AT.PAGESZ, PAGE], [AT.BASE, 0], [AT.FLAGS, 0],
    [AT.ENTRY, Number(img.entry)], [AT.UID, 0], [AT.EUID, 0], [AT.GID, 0], [AT.EGID, 0], [AT.SECURE, 0],
    [AT.HWCAP, hwcap], [AT.HWCAP2, hwcap2], [AT.CLKTCK, 100], [AT.PLATFORM, platform], [AT.RANDOM, random],
    [AT.EXECFN, execfn], [AT.MINSIGSTKSZ, 5120], [AT.NULL, 0],
  ];
  const words: number[] = [argv.length, ...argvPtrs, 0, ...envPtrs, 0];
  for (const [k, v] of auxv) words.push(k, v);
  sp = alignDown(sp - words.length * 8, 16);
  words.forEach((w, i) => {
    const o = sp + 8 * i - stackRam.base;
    stackRam.view.setUint32(o, w % TWO32, true);
    stackRam.view.setUint32(o + 4, Math.floor(w / TWO32), true);
  });

  // EL0t, interrupts unmasked (none can arrive), at the entry point with SP_EL0 = sp.
  pe.setPstate(0);
  pe.setSp(BigInt(sp));
  pe.pc = img.entry;

  // ---- Guest memory access for system calls (identity map: VA = PA).
  const region = (va: number, len: number): RamRegion | null => {
    const r = bus.findRam(va);
    if (r === null || r === vec || r === ptRam || va + len > r.base + r.size) return null;
    return r;
  };
  const readMem = (va: number, len: number): Uint8Array | null => {
    const r = region(va, len);
    return r === null ? null : r.bytes.subarray(va - r.base, va - r.base + len);
  };
  const writeMem = (va: number, data: Uint8Array): boolean => {
    const r = region(va, data.length);
    if (r === null) return false;
    bus.writeBytes(va, data);
    return true;
  };
  const readCString = (va: number): string | null => {
    const r = region(va, 1);
    if (r === null) return null;
    const start = va - r.base;
    let end = start;
    while (end < r.size && r.bytes[end] !== 0) end++;
    return new TextDecoder().decode(r.bytes.subarray(start, end));
  };
  const u64le = (vals: number[]): Uint8Array => {
    const b = new Uint8Array(vals.length * 8);
    const dv = new DataView(b.buffer);
    vals.forEach((v, i) => {
      dv.setUint32(8 * i, v % TWO32 >>> 0, true);
      dv.setUint32(8 * i + 4, Math.floor(v / TWO32) >>> 0, true);
    });
    return b;
  };

  // ---- Output.
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const emit = (fd: number, b: Uint8Array): void => {
    const copy = b.slice();
    if (fd === 1) {
      out.push(copy);
      opts.onStdout?.(copy);
    } else {
      err.push(copy);
      opts.onStderr?.(copy);
    }
  };
  const stdin = opts.stdin ?? new Uint8Array(0);
  let stdinPos = 0;

  // ---- Heap and mmap state.
  let brk = brkBase;
  let brkHigh = brkBase; // highest brk so far: pages below it may hold old data
  /** Free mmap ranges [start, end), sorted; first fit. */
  const free: [number, number][] = [[MMAP_BASE, MMAP_BASE + mmapSize]];
  const mmapAlloc = (len: number): number => {
    for (let i = 0; i < free.length; i++) {
      const [s, e] = free[i]!;
      if (e - s >= len) {
        if (e - s === len) free.splice(i, 1);
        else free[i] = [s + len, e];
        mmapRam.bytes.fill(0, s - MMAP_BASE, s - MMAP_BASE + len);
        return s;
      }
    }
    return -1;
  };
  const mmapFree = (s: number, e: number): void => {
    s = Math.max(s, MMAP_BASE);
    e = Math.min(e, MMAP_BASE + mmapSize);
    if (e <= s) return;
    // Remove [s, e) from the used set: add to free, merging.
    free.push([s, e]);
    free.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const r of free) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    free.length = 0;
    free.push(...merged);
  };
  const mmapTake = (s: number, e: number): void => {
    // MAP_FIXED: carve [s, e) out of the free list.
    const next: [number, number][] = [];
    for (const [fs, fe] of free) {
      if (fe <= s || fs >= e) next.push([fs, fe]);
      else {
        if (fs < s) next.push([fs, s]);
        if (fe > e) next.push([e, fe]);
      }
    }
    free.length = 0;
    free.push(...next);
  };

  // ---- Registers.
  const xlo = (n: number): number => pe.x[2 * n] >>> 0;
  const xhi = (n: number): number => pe.x[2 * n + 1] >>> 0;
  const xnum = (n: number): number => xhi(n) * TWO32 + xlo(n); // unsigned, exact below 2^53
  const xint = (n: number): number => pe.x[2 * n] | 0; // low 32 bits, signed (fds, flags)
  const setX0 = (v: number): void => {
    // v: a non-negative number below 2^53, or a negative errno / small negative value.
    if (v < 0) {
      pe.x[0] = v | 0;
      pe.x[1] = -1;
    } else {
      pe.x[0] = v % TWO32 | 0;
      pe.x[1] = Math.floor(v / TWO32) | 0;
    }
  };

  const counterNs = (): number => {
    const freq = pe.getSrLo(sr('CNTFRQ_EL0')) >>> 0 || 62_500_000;
    return (pe.timer.physicalCount() / freq) * 1e9;
  };
  const timespec = (ns: number): Uint8Array => u64le([Math.floor(ns / 1e9), Math.floor(ns % 1e9)]);

  const statChar = (): Uint8Array => {
    const b = new Uint8Array(128);
    const dv = new DataView(b.buffer);
    dv.setUint32(16, 0o20620, true); // st_mode: S_IFCHR | 0620
    dv.setUint32(20, 1, true); // st_nlink
    dv.setUint32(32, (136 << 8) | 0, true); // st_rdev: a pty
    dv.setUint32(56, 1024, true); // st_blksize
    return b;
  };

  let syscalls = 0;
  const warned = new Set<number>();

  const syscall = (nr: number): number => {
    switch (nr) {
      case SYS.write: {
        const fd = xint(0), buf = xnum(1), len = xnum(2);
        if (fd !== 1 && fd !== 2) return -EBADF;
        if (len === 0) return 0;
        const b = readMem(buf, len);
        if (b === null) return -EFAULT;
        emit(fd, b);
        return len;
      }
      case SYS.writev: {
        const fd = xint(0), iov = xnum(1), cnt = xint(2);
        if (fd !== 1 && fd !== 2) return -EBADF;
        if (cnt < 0 || cnt > 1024) return -EINVAL;
        const v = readMem(iov, cnt * 16);
        if (v === null) return -EFAULT;
        const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
        let total = 0;
        for (let i = 0; i < cnt; i++) {
          const base = dv.getUint32(16 * i + 4, true) * TWO32 + dv.getUint32(16 * i, true);
          const len = dv.getUint32(16 * i + 12, true) * TWO32 + dv.getUint32(16 * i + 8, true);
          if (len === 0) continue;
          const b = readMem(base, len);
          if (b === null) return total > 0 ? total : -EFAULT;
          emit(fd, b);
          total += len;
        }
        return total;
      }
      case SYS.read: {
        const fd = xint(0), buf = xnum(1), len = xnum(2);
        if (fd !== 0) return -EBADF;
        const n = Math.min(len, stdin.length - stdinPos);
        if (n <= 0) return 0;
        if (!writeMem(buf, stdin.subarray(stdinPos, stdinPos + n))) return -EFAULT;
        stdinPos += n;
        return n;
      }
      case SYS.openat:
        return -ENOENT;
      case SYS.close:
        return xint(0) >= 0 && xint(0) <= 2 ? 0 : -EBADF;
      case SYS.lseek:
        return xint(0) >= 0 && xint(0) <= 2 ? -ESPIPE : -EBADF;
      case SYS.fstat:
      case SYS.newfstatat: {
        const fd = xint(0);
        const buf = xnum(nr === SYS.fstat ? 1 : 2);
        if (nr === SYS.newfstatat) {
          const path = readCString(xnum(1));
          const AT_EMPTY_PATH = 0x1000;
          if (path !== '' || !(xint(3) & AT_EMPTY_PATH)) return -ENOENT;
        }
        if (fd < 0 || fd > 2) return -EBADF;
        return writeMem(buf, statChar()) ? 0 : -EFAULT;
      }
      case SYS.statx:
        return -ENOSYS;
      case SYS.ioctl:
        return xint(0) >= 0 && xint(0) <= 2 ? -ENOTTY : -EBADF;
      case SYS.fcntl:
        return xint(0) >= 0 && xint(0) <= 2 ? (xint(1) === 3 /* F_GETFL */ ? (xint(0) === 0 ? 0 : 1) : 0) : -EBADF;
      case SYS.faccessat:
        return -ENOENT;
      case SYS.getcwd: {
        const buf = xnum(0), size = xnum(1);
        if (size < 2) return -34; // ERANGE
        return writeMem(buf, enc.encode('/\0')) ? 2 : -EFAULT;
      }
      case SYS.brk: {
        const want = xnum(0);
        if (want === 0 || want < brkBase || want > brkLimit) return brk;
        if (want < brk) imageRam.bytes.fill(0, want - lo, brk - lo);
        else if (want > brkHigh) brkHigh = want;
        brk = want;
        return brk;
      }
      case SYS.mmap: {
        const addr = xnum(0), len = xnum(1), flags = xint(3), fd = xint(4);
        const MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;
        if (len === 0) return -EINVAL;
        if (!(flags & MAP_ANONYMOUS)) return fd < 0 || fd > 2 ? -EBADF : -19; // ENODEV: no file mappings
        const size = alignUp(len, PAGE);
        if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
          if (addr % PAGE !== 0) return -EINVAL;
          if (addr >= MMAP_BASE && addr + size <= MMAP_BASE + mmapSize) {
            mmapTake(addr, addr + size);
            mmapRam.bytes.fill(0, addr - MMAP_BASE, addr - MMAP_BASE + size);
            return addr;
          }
          if (addr >= brkBase && addr + size <= brkLimit) {
            imageRam.bytes.fill(0, addr - lo, addr - lo + size);
            return addr;
          }
          return -ENOMEM;
        }
        const a = mmapAlloc(size);
        return a < 0 ? -ENOMEM : a;
      }
      case SYS.munmap: {
        const addr = xnum(0), len = xnum(1);
        if (addr % PAGE !== 0 || len === 0) return -EINVAL;
        mmapFree(addr, addr + alignUp(len, PAGE));
        return 0;
      }
      case SYS.mremap:
        return -ENOMEM;
      case SYS.mprotect:
      case SYS.madvise:
        return 0;
      case SYS.uname: {
        const b = new Uint8Array(65 * 6);
        ['Linux', 'nestvisor', '6.1.0', '#1 SMP nestvisor linux-user', 'aarch64', '(none)'].forEach((s, i) => b.set(enc.encode(s), 65 * i));
        return writeMem(xnum(0), b) ? 0 : -EFAULT;
      }
      case SYS.set_tid_address:
      case SYS.gettid:
      case SYS.getpid:
        return 1000;
      case SYS.getppid:
        return 1;
      case SYS.getuid:
      case SYS.geteuid:
      case SYS.getgid:
      case SYS.getegid:
        return 0;
      case SYS.set_robust_list:
        return 0;
      case SYS.rseq:
        return -ENOSYS;
      case SYS.prlimit64:
      case SYS.getrlimit: {
        const res = xint(nr === SYS.prlimit64 ? 1 : 0);
        const oldp = xnum(nr === SYS.prlimit64 ? 3 : 1);
        if (nr === SYS.prlimit64 && xint(0) !== 0 && xint(0) !== 1000) return -3; // ESRCH
        if (oldp === 0) return 0;
        const INF = 2 ** 64 - 1;
        const RLIMIT_STACK = 3, RLIMIT_NOFILE = 7;
        const lim = res === RLIMIT_STACK ? [stackSize, INF] : res === RLIMIT_NOFILE ? [1024, 4096] : [INF, INF];
        const b = new Uint8Array(16);
        const dv = new DataView(b.buffer);
        lim.forEach((v, i) => {
          if (v === INF) dv.setUint32(8 * i, 0xffffffff, true), dv.setUint32(8 * i + 4, 0xffffffff, true);
          else dv.setUint32(8 * i, v >>> 0, true);
        });
        return writeMem(oldp, b) ? 0 : -EFAULT;
      }
      case SYS.getrandom: {
        const buf = xnum(0), len = Math.min(xnum(1), 1 << 20);
        const b = new Uint8Array(len);
        prng.fill(b);
        return writeMem(buf, b) ? len : -EFAULT;
      }
      case SYS.readlinkat: {
        const path = readCString(xnum(1));
        if (path !== '/proc/self/exe' || opts.exePath === undefined || !opts.exePath.startsWith('/')) return -ENOENT;
        const target = enc.encode(opts.exePath);
        const n = Math.min(target.length, xnum(3));
        return writeMem(xnum(2), target.subarray(0, n)) ? n : -EFAULT;
      }
      case SYS.clock_gettime:
        return xnum(1) === 0 ? 0 : writeMem(xnum(1), timespec(counterNs())) ? 0 : -EFAULT;
      case SYS.clock_getres:
        return xnum(1) === 0 ? 0 : writeMem(xnum(1), timespec(1)) ? 0 : -EFAULT;
      case SYS.gettimeofday: {
        if (xnum(0) === 0) return 0;
        const ns = counterNs();
        return writeMem(xnum(0), u64le([Math.floor(ns / 1e9), Math.floor((ns % 1e9) / 1000)])) ? 0 : -EFAULT;
      }
      case SYS.nanosleep:
      case SYS.clock_nanosleep:
      case SYS.sched_yield:
        return 0;
      case SYS.times:
        return Math.floor(counterNs() / 1e7);
      case SYS.rt_sigaction:
      case SYS.rt_sigprocmask: {
        // Accepted, never delivered; old action / old mask read as zero.
        const oldp = xnum(2);
        if (oldp !== 0 && !writeMem(oldp, new Uint8Array(nr === SYS.rt_sigaction ? 32 : 8))) return -EFAULT;
        return 0;
      }
      case SYS.sigaltstack: {
        const oldp = xnum(1);
        if (oldp !== 0) {
          const b = new Uint8Array(24);
          b[8] = 2; // SS_DISABLE
          if (!writeMem(oldp, b)) return -EFAULT;
        }
        return 0;
      }
      case SYS.futex: {
        const op = xint(1) & 0x7f;
        const FUTEX_WAIT = 0, FUTEX_WAKE = 1;
        if (op === FUTEX_WAKE) return 0;
        if (op === FUTEX_WAIT) return -11; // EAGAIN: nobody else could change the word
        return -ENOSYS;
      }
      case SYS.sched_getaffinity: {
        const len = xnum(1);
        if (len < 8) return -EINVAL;
        const b = new Uint8Array(8);
        b[0] = 1;
        return writeMem(xnum(2), b) ? 8 : -EFAULT;
      }
      case SYS.prctl:
        return -EINVAL;
      case SYS.getrusage:
        return writeMem(xnum(1), new Uint8Array(144)) ? 0 : -EFAULT;
      case SYS.sysinfo:
        return -ENOSYS;
      case SYS.kill:
      case SYS.tkill:
      case SYS.tgkill: {
        const sig = xint(nr === SYS.tgkill ? 2 : 1);
        if (sig === 0) return 0;
        throw new Exit(128 + sig, sig, `killed by ${SIGNAME[sig] ?? `signal ${sig}`} (sent by the program itself with ${SYSNAME[nr]})`);
      }
      case SYS.exit:
      case SYS.exit_group:
        throw new Exit(xint(0) & 0xff);
      default:
        if (!warned.has(nr)) {
          warned.add(nr);
          diag(`${name}: unsupported system call ${nr}${SYSNAME[nr] ? ` (${SYSNAME[nr]})` : ''} at PC ${hex((pe.getSrHi(ELR_EL1) >>> 0) * TWO32 + (pe.getSrLo(ELR_EL1) >>> 0) - 4)}: returning -ENOSYS`);
        }
        return -ENOSYS;
    }
  };

  /** The signal for a synchronous exception from EL0 other than SVC, as Linux's arm64 fault handling delivers it. */
  const fault = (ec: number, esr: number, elr: number, far: number): Exit => {
    const fsc = esr & 0x3f;
    const kill = (sig: number, what: string, addr?: number): Exit =>
      new Exit(128 + sig, sig, `killed by ${SIGNAME[sig]}: ${what} at PC ${hex(elr)}${addr !== undefined ? `, address ${hex(addr)}` : ''} (ESR_EL1 ${hex(esr >>> 0)})`);
    switch (ec) {
      case EC.UNKNOWN:
        return kill(SIG.SIGILL, 'undefined instruction');
      case EC.SYS64:
        return kill(SIG.SIGILL, 'trapped system register access');
      case EC.DABT_LOWER:
        if (fsc === 0x21) return kill(SIG.SIGBUS, 'unaligned data access', far);
        return kill(SIG.SIGSEGV, (fsc & 0x3c) === 0x0c ? `data ${esr & (1 << 6) ? 'write' : 'read'} not permitted` : `data ${esr & (1 << 6) ? 'write' : 'read'} of an unmapped address`, far);
      case EC.IABT_LOWER:
        return kill(SIG.SIGSEGV, (fsc & 0x3c) === 0x0c ? 'execution of a non-executable page' : 'execution of an unmapped address', far);
      case EC.PC_ALIGN:
        return kill(SIG.SIGBUS, 'misaligned PC', far);
      case EC.SP_ALIGN:
        return kill(SIG.SIGBUS, 'misaligned stack pointer', pe.spBank[1] * TWO32 + (pe.spBank[0] >>> 0));
      case EC.BRK64:
        return kill(SIG.SIGTRAP, `BRK #${hex(esr & 0xffff)}`);
      case EC.FP_EXC64:
        return kill(SIG.SIGFPE, 'floating-point exception');
      default:
        return kill(SIG.SIGILL, `unexpected exception ${ecName(ec)}`);
    }
  };

  const maxInsns = opts.maxInsns ?? 1e11;
  const t0 = performance.now();
  const concat = (parts: Uint8Array[]): Uint8Array => {
    const n = parts.reduce((s, p) => s + p.length, 0);
    const r = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      r.set(p, o);
      o += p.length;
    }
    return r;
  };
  const done = (exit: LinuxUserResult['exit'], status: number, message?: string, signal?: number): LinuxUserResult => {
    if (message !== undefined && exit !== 'exit') diag(`${name}: ${message}`);
    return { exit, status, signal, stdout: concat(out), stderr: concat(err), insns: pe.icount, seconds: (performance.now() - t0) / 1000, syscalls, message, pe };
  };

  while (pe.icount < maxInsns) {
    const r = pe.run(Math.min(50_000_000, maxInsns - pe.icount));
    if (r === RunExit.Budget) continue;
    if (r !== RunExit.El2) return done('error', 1, `PE stopped (${r}) at PC ${hex(Number(pe.pc))}`);
    const esr2 = pe.getSrLo(ESR_EL2);
    if (esr2 >>> 26 !== EC.HVC64 || pe.el2Vector !== VECTOR_SYNC) return done('error', 1, `unexpected exception to EL2 (ESR_EL2 ${hex(esr2 >>> 0)}, vector ${pe.el2Vector})`);
    const vecOff = (esr2 & 0xffff) << 7;
    const esr = pe.getSrLo(ESR_EL1) >>> 0;
    const ec = esr >>> 26;
    const elr = (pe.getSrHi(ELR_EL1) >>> 0) * TWO32 + (pe.getSrLo(ELR_EL1) >>> 0);
    const far = (pe.getSrHi(FAR_EL1) >>> 0) * TWO32 + (pe.getSrLo(FAR_EL1) >>> 0);
    if (vecOff !== 0x400) return done('error', 1, `exception to EL1 vector ${hex(vecOff)} (${ecName(ec)}, ESR_EL1 ${hex(esr)}, ELR_EL1 ${hex(elr)}): only synchronous exceptions from EL0 are expected`);
    try {
      if (ec === EC.SVC64) {
        syscalls++;
        setX0(syscall(xlo(8)));
      } else if (ec === EC.WFX) {
        // WFI/WFE from EL0 (nTWI clear): a yield. Skip the instruction.
        pe.setSr(ELR_EL1, (elr + 4) % TWO32 | 0, Math.floor((elr + 4) / TWO32) | 0);
      } else {
        const e = fault(ec, esr, elr, far);
        return done('signal', e.status, e.message, e.signal);
      }
    } catch (e) {
      if (e instanceof Exit) return e.signal !== undefined ? done('signal', e.status, e.message, e.signal) : done('exit', e.status);
      throw e;
    }
    pe.eretFromEl2(); // to the ERET after the vector's HVC, which returns to EL0
  }
  return done('budget', 1, `instruction budget of ${maxInsns} spent`);
}
