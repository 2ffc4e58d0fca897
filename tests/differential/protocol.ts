/**
 * The test-case model shared by both sides of the differential tests, and the
 * binary protocol of the QEMU-side harness (tests/guests/diffharness/main.c
 * documents the byte layout; this file is its other half).
 *
 * Address map, the same on both sides:
 *   CODE_BASE  0x10000000  the block, then a B to the epilogue, then zeros (4 KiB)
 *   TRAMP_BASE 0x10001000  the harness's trampoline page (entry, epilogue at +0x200)
 *   DATA_BASE  0x20000000  64 KiB data area
 */
export const CODE_BASE = 0x10000000;
export const TRAMP_BASE = CODE_BASE + 0x1000;
export const TRAMP_EPILOGUE = 0x200;
export const DATA_BASE = 0x20000000;
export const DATA_SIZE = 0x10000;
export const MAX_CODE = 1000;
/** Number of registers in a state: X0..X30 and SP. */
export const NREGS = 32;
export const SP = 31;

const magic = (s: string): number => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
const M_BATCH = magic('NVDB');
const M_HELLO = magic('NVDH') >>> 0;
const M_CASE = magic('CASE');
const M_DONE = magic('DONE');
const M_END = magic('END.') >>> 0;

/** An 8-byte word of the data area: offset (multiple of 8) and value halves. */
export interface Word64 {
  off: number;
  lo: number;
  hi: number;
}

export interface Case {
  /** The block's instruction words (the B to the epilogue is added by `codeWords`). */
  words: number[];
  /** X0..X30 and SP as unsigned 32-bit pairs: [2n] bits 31:0, [2n+1] bits 63:32. */
  regs: Uint32Array;
  /** NZCV in bits 3:0 (N = bit 3). */
  nzcv: number;
  /** Data-area words to set before the block runs (on top of the batch's pristine image). */
  patches: Word64[];
  /** Instructions the generator placed (for the count): words.length unless padding was added. */
  insns: number;
  /** A name for the report (corpus entries). */
  note?: string;
}

/** The result of running a case on one side. */
export interface Outcome {
  /** 0 when the block reached the epilogue, else the Linux signal number (SIGILL 4, SIGTRAP 5, SIGBUS 7, SIGSEGV 11). */
  sig: number;
  /** si_code of the signal. */
  code: number;
  /** si_addr: the fault address (data aborts), or the PC (undefined instruction, instruction aborts). */
  addr: bigint;
  /** The faulting instruction's address (0 when none). */
  pc: bigint;
  /** X0..X30, SP (lo/hi pairs) at the epilogue or at the fault. */
  regs: Uint32Array;
  nzcv: number;
  /** The data-area words that differ from the pristine image, by ascending offset. */
  diffs: Word64[];
  /** Set by the nestvisor side when the PE ended in a way that has no Linux signal (a description). */
  other?: string;
}

export const B_EPILOGUE = (index: number): number =>
  (0x14000000 | (((TRAMP_BASE + TRAMP_EPILOGUE - (CODE_BASE + 4 * index)) >> 2) & 0x3ffffff)) >>> 0;

/** The words written at CODE_BASE: the block and the branch to the epilogue. */
export function codeWords(c: Case): number[] {
  return [...c.words, B_EPILOGUE(c.words.length)];
}

export const reg64 = (regs: Uint32Array, n: number): bigint => (BigInt(regs[2 * n + 1]) << 32n) | BigInt(regs[2 * n]);
export function setReg64(regs: Uint32Array, n: number, v: bigint): void {
  regs[2 * n] = Number(v & 0xffffffffn);
  regs[2 * n + 1] = Number((v >> 32n) & 0xffffffffn);
}

/** Serialises a batch for the harness's stdin. */
export function encodeBatch(pristine: Uint8Array, cases: readonly Case[]): Buffer {
  let size = 8 + DATA_SIZE + 4;
  for (const c of cases) size += 16 + 33 * 8 + 4 * (c.words.length + 1) + 16 * c.patches.length;
  const buf = Buffer.alloc(size);
  let p = 0;
  const w32 = (v: number): void => {
    buf.writeUInt32LE(v >>> 0, p);
    p += 4;
  };
  w32(M_BATCH);
  w32(1);
  buf.set(pristine, p);
  p += DATA_SIZE;
  for (const c of cases) {
    const code = codeWords(c);
    if (code.length > MAX_CODE) throw new Error(`block of ${code.length} words is too long`);
    w32(M_CASE);
    w32(code.length);
    w32(c.patches.length);
    w32(0);
    for (let i = 0; i < 2 * NREGS; i++) w32(c.regs[i]);
    w32(c.nzcv << 28);
    w32(0);
    for (const w of code) w32(w);
    for (const q of c.patches) {
      w32(q.off);
      w32(0);
      w32(q.lo);
      w32(q.hi);
    }
  }
  w32(M_DONE);
  if (p !== size) throw new Error('encodeBatch: size mismatch');
  return buf;
}

export class ProtocolError extends Error {}

/** Parses the harness's stdout: the trampoline page and one outcome per case. */
export function decodeResults(out: Buffer, ncases: number): { tramp: Uint8Array; outcomes: Outcome[] } {
  let p = 0;
  const need = (n: number): void => {
    if (p + n > out.length) throw new ProtocolError(`harness output truncated at byte ${p} (of ${out.length}) after ${outcomes.length} of ${ncases} cases`);
  };
  const r32 = (): number => {
    need(4);
    const v = out.readUInt32LE(p);
    p += 4;
    return v;
  };
  const r64 = (): bigint => {
    need(8);
    const v = out.readBigUInt64LE(p);
    p += 8;
    return v;
  };
  const outcomes: Outcome[] = [];
  if (r32() !== M_HELLO) throw new ProtocolError('harness output does not start with its hello record');
  if (r32() !== 1) throw new ProtocolError('harness protocol version mismatch');
  need(4096);
  const tramp = new Uint8Array(out.subarray(p, p + 4096));
  p += 4096;
  for (let k = 0; k < ncases; k++) {
    const sig = r32();
    const code = r32();
    const addr = r64();
    const pc = r64();
    const regs = new Uint32Array(2 * NREGS);
    for (let i = 0; i < 2 * NREGS; i++) regs[i] = r32();
    const nzcv = (r32() >>> 28) & 0xf;
    r32();
    const nd = r32();
    r32();
    const diffs: Word64[] = [];
    for (let i = 0; i < nd; i++) {
      const off = r32();
      r32();
      diffs.push({ off, lo: r32(), hi: r32() });
    }
    outcomes.push({ sig, code, addr, pc, regs, nzcv, diffs });
  }
  if (r32() !== M_END) throw new ProtocolError('harness output does not end with its end record');
  return { tramp, outcomes };
}
