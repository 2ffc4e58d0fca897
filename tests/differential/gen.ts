/**
 * The random case generator: instruction blocks drawn FROM THE TABLE
 * (insnTable(), through the PE's decoder so that `feature` is respected), per
 * instruction class, so that whatever is implemented when the tests run is
 * covered without listing instructions here.
 *
 * An instruction is made by picking a definition of the class, filling its
 * fields (register fields Rd/Rn/Rm/Rt/Rt2/Rs/Ra from a small pool so that
 * instructions of a block depend on each other; immediates biased towards 0,
 * 1, all-ones, the sign boundary, 31, 32, 63; other fields uniform; the
 * pattern's `x` bits set to 1, the "should be one" value of the encodings
 * that have them), encoding it, and keeping the word only if the decoder maps
 * it back to the same definition (unallocated encodings are skipped).
 *
 * Blocks by class:
 * - dp-imm, dp-reg: 1-8 instructions of the class.
 * - branch: 1-8 branches. PC-relative ones (fields imm26/imm19/imm14) go
 *   forward to a later instruction of the block or to the B to the epilogue,
 *   sometimes a few words past it (zeros: UNDEFINED); register ones (BR, BLR,
 *   RET) get their register set to such a target, sometimes misaligned or
 *   unmapped. Targets are always forward, so every block terminates. X30 is a
 *   target register only for the first instruction (BL and BLR write it).
 * - ldst: 1-4 memory instructions, every register field of an instruction
 *   distinct (which avoids the CONSTRAINED UNPREDICTABLE writeback and pair
 *   cases), each base register (Rn) untouched by the instructions before it.
 *   Bases point into the data area (aligned or not); index registers (Rm) hold
 *   -64..64. SP is a base only when set 16-byte aligned in the data area.
 * - ldst-excl: often a load-exclusive and a store-exclusive of the same size on
 *   the same base, back to back (success), among other instructions of the
 *   class (failure, ordered accesses); bases mostly aligned, and always for
 *   store-exclusives (QEMU 7.2 lets an unaligned STXR fail without the
 *   alignment fault the architecture requires when the monitor is not armed
 *   for it).
 * - atomic: 1-3 LSE instructions, bases mostly aligned; for CAS/CASP the
 *   memory is often preset to the compare value so that the swap happens.
 * Bases and branch targets sometimes carry a tag in the top byte (Linux sets
 * TCR_EL1.TBI0, and so does the nestvisor side).
 * Memory addresses are then steered (`steer`): when the PE reports a data
 * abort outside the data area, the faulting instruction's base register is
 * moved so that the same access lands inside it (most of the time; the rest
 * stay as fault tests). Steering only picks inputs; QEMU judges the result.
 */
import { CompiledDef, Decoder, Fields, InsnClass, InsnFlags, encode } from '../../src/cpu/decoder.js';
import { Rng } from './prng.js';
import { CODE_BASE, Case, DATA_BASE, DATA_SIZE, Outcome, SP, Word64, reg64, setReg64 } from './protocol.js';

export type GenClass = 'dp-imm' | 'dp-reg' | 'branch' | 'ldst' | 'ldst-excl' | 'atomic';
export const GEN_CLASSES: readonly GenClass[] = ['dp-imm', 'dp-reg', 'branch', 'ldst', 'ldst-excl', 'atomic'];

const M64 = 0xffffffffffffffffn;
const isReg = (name: string): boolean => /^R[a-z]\d?$/.test(name);
const BIASED = /^(imm|b40$|hw$|sh$|shift$|amount$)/;
const BRANCH_IMM = ['imm26', 'imm19', 'imm14'];
/** Bit 26 of a load/store encoding: V, SIMD&FP registers. */
const V_BIT = 1 << 26;
/**
 * "Unmapped" branch targets below 4 GiB start here: above the first GiB,
 * which holds everything the harness process has mapped under qemu-aarch64
 * (its own image and heap near 0x400000, CODE_BASE, DATA_BASE) and which
 * nestvisor's side maps as EL0 memory. A target inside the harness's image
 * ran its code under QEMU but faulted on nestvisor's side.
 */
const UNMAPPED_LO = 0x40000000;

const EDGES: readonly bigint[] = [
  0n, 1n, 2n, M64, M64 - 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0xfffffffen, 0x100000000n,
  0x8000000000000000n, 0x7fffffffffffffffn, 0xffffffff80000000n, 0xffffffff7fffffffn, 0x7fffn, 0x8000n, 0xffffn,
  0x10000n, 31n, 32n, 63n, 64n, 0x5555555555555555n, 0xaaaaaaaaaaaaaaaan, 0x00000000deadbeefn,
];

/** A generated case, with what steering needs: each instruction's base register (or undefined). */
export interface GenCase extends Case {
  bases: (number | undefined)[];
}

interface Placed {
  c: CompiledDef;
  f: Fields;
  word: number;
}

/** The x-bits ("either") of a pattern: neither fixed nor inside a field. */
function xMask(c: CompiledDef): number {
  let m = c.mask;
  for (const s of c.fields) m |= s.width === 32 ? -1 : ((1 << s.width) - 1) << s.lsb;
  return ~m >>> 0;
}

export class Generator {
  readonly rng: Rng;
  readonly defs: CompiledDef[];
  private readonly xbits = new Map<CompiledDef, number>();
  /** Instructions generated per definition name (coverage). */
  readonly perDef = new Map<string, number>();
  pristine = new Uint8Array(DATA_SIZE);
  /** Whether a field named V is the SIMD&FP selector (memory classes) and must be 0. */
  private readonly vField: boolean;

  constructor(readonly dec: Decoder, readonly cls: GenClass, seed: number) {
    this.rng = new Rng(seed).fork(cls);
    const memory = cls === 'ldst' || cls === 'ldst-excl' || cls === 'atomic';
    this.defs = dec.compiled.filter(
      (c) =>
        c.def.cls === (cls as InsnClass) &&
        (c.def.feature === undefined || dec.features.has(c.def.feature)) &&
        // SIMD&FP loads and stores (bit 26, V, set) are left out: the harness does not carry the V registers.
        !(memory && c.mask & V_BIT && c.value & V_BIT),
    );
    this.vField = memory;
    for (const c of this.defs) this.xbits.set(c, xMask(c));
  }

  /** A fresh initial data-area image: random bytes with some edge values sprinkled in. */
  newPristine(): Uint8Array {
    const p = new Uint8Array(DATA_SIZE);
    const v = new DataView(p.buffer);
    for (let i = 0; i < DATA_SIZE; i += 4) v.setUint32(i, this.rng.u32(), true);
    for (let k = 0; k < DATA_SIZE / 64; k++) v.setBigUint64(8 * this.rng.below(DATA_SIZE / 8), this.rng.pick(EDGES), true);
    this.pristine = p;
    return p;
  }

  // ---- values ------------------------------------------------------------

  regValue(): bigint {
    const r = this.rng;
    switch (r.below(10)) {
      case 0: case 1: case 2: case 3: return r.pick(EDGES);
      case 4: return BigInt.asUintN(64, BigInt(r.range(-16, 16)));
      case 5: return BigInt(r.u32());
      case 6: return BigInt.asUintN(64, BigInt(r.u32() | 0));
      default: return r.u64();
    }
  }

  private fieldValue(name: string, width: number): number {
    const r = this.rng;
    const max = width >= 32 ? 0xffffffff : 2 ** width - 1;
    if (BIASED.test(name) && width >= 2 && r.chance(0.6)) {
      const half = 2 ** (width - 1);
      const specials = [0, 1, 2, max, max - 1, half, half - 1, 31, 32, 63, 15, 16, 7, 8].filter((v) => v >= 0 && v <= max);
      return r.pick(specials);
    }
    return r.below(max + 1);
  }

  private regPool(): number {
    const r = this.rng;
    return r.chance(0.6) ? r.pick([0, 1, 2, 3, 4, 5, 30, 31]) : r.below(32);
  }

  /**
   * Fills `c`'s fields (`fixed` wins over random choices; `pickReg` chooses
   * register fields) and returns the instruction if the decoder maps it back
   * to `c`, trying a few times.
   */
  private make(c: CompiledDef, fixed: Fields = {}, pickReg?: (name: string, taken: number[]) => number): Placed | null {
    for (let attempt = 0; attempt < 24; attempt++) {
      const f: Fields = {};
      const taken: number[] = [];
      for (const s of c.fields) {
        if (s.name in fixed) f[s.name] = fixed[s.name];
        else if (s.name === 'V' && this.vField) f[s.name] = 0;
        else if (isReg(s.name) && s.width === 5) f[s.name] = pickReg ? pickReg(s.name, taken) : this.regPool();
        else f[s.name] = this.fieldValue(s.name, s.width);
        if (isReg(s.name)) taken.push(f[s.name]);
      }
      const word = (encode(c, f) | this.xbits.get(c)!) >>> 0;
      const d = this.dec.decode(word);
      if (d !== null && d.c === c) return { c, f: d.fields, word };
    }
    return null;
  }

  private count(p: Placed): void {
    this.perDef.set(p.c.def.name, (this.perDef.get(p.c.def.name) ?? 0) + 1);
  }

  private newRegs(): Uint32Array {
    const regs = new Uint32Array(2 * 32);
    for (let i = 0; i < 32; i++) setReg64(regs, i, this.regValue());
    return regs;
  }

  /** Generates one case of this generator's class, or null if the class has no definitions. */
  genCase(): GenCase | null {
    if (this.defs.length === 0) return null;
    switch (this.cls) {
      case 'dp-imm':
      case 'dp-reg':
        return this.genDp();
      case 'branch':
        return this.genBranch();
      default:
        return this.genMem();
    }
  }

  private finish(placed: Placed[], regs: Uint32Array, bases: (number | undefined)[], patches: Word64[] = []): GenCase {
    for (const p of placed) this.count(p);
    return { words: placed.map((p) => p.word), regs, nzcv: this.rng.below(16), patches, insns: placed.length, bases };
  }

  private genDp(): GenCase {
    const n = this.rng.range(1, 8);
    const placed: Placed[] = [];
    while (placed.length < n) {
      const p = this.make(this.rng.pick(this.defs));
      if (p !== null) placed.push(p);
    }
    return this.finish(placed, this.newRegs(), placed.map(() => undefined));
  }

  private genBranch(): GenCase {
    const r = this.rng;
    const n = r.range(1, 8);
    const regs = this.newRegs();
    const placed: Placed[] = [];
    const targetOf = new Map<number, bigint>();
    const pickTarget = (i: number): number => {
      const x = r.below(100);
      if (x < 94) return r.range(i + 1, n); // a later instruction or the B to the epilogue (index n)
      return r.range(n + 1, n + 6); // zeros after the block: UNDEFINED
    };
    for (let i = 0; i < n; i++) {
      let p: Placed | null = null;
      while (p === null) {
        const c = r.pick(this.defs);
        const imm = c.fields.find((s) => BRANCH_IMM.includes(s.name));
        const fixed: Fields = {};
        if (imm !== undefined) {
          fixed[imm.name] = (pickTarget(i) - i) & ((1 << imm.width) - 1);
          p = this.make(c, fixed);
        } else if (c.fields.some((s) => s.name === 'Rn') && (c.def.flags ?? 0) & InsnFlags.Branch) {
          // A register branch: choose a register that holds (or can hold) a forward target.
          let reg = -1;
          for (let k = 0; k < 8 && reg < 0; k++) {
            const cand = r.chance(0.1) ? 31 : i === 0 && r.chance(0.5) ? 30 : r.below(30);
            if (cand === 31) reg = cand;
            else if (!targetOf.has(cand)) {
              let v = BigInt(CODE_BASE + 4 * pickTarget(i));
              const y = r.below(100);
              if (y < 4) v += BigInt(r.range(1, 3)); // misaligned: PC alignment fault
              else if (y < 7) v = BigInt(UNMAPPED_LO + 4 * r.below((0x100000000 - UNMAPPED_LO) / 4)) | (r.chance(0.5) ? 0n : 0x0000800000000000n); // unmapped
              else if (y < 12) v |= BigInt(r.range(1, 255)) << 56n; // tagged: TBI0 makes the branch drop the tag
              targetOf.set(cand, v);
              reg = cand;
            }
          }
          if (reg < 0) continue;
          p = this.make(c, { Rn: reg });
        } else {
          p = this.make(c);
        }
      }
      placed.push(p);
    }
    for (const [reg, v] of targetOf) setReg64(regs, reg, v);
    return this.finish(placed, regs, placed.map(() => undefined));
  }

  /** Exclusive load (bit 22 L=1) or store (L=0) of the load/store exclusive group (bit 23 o2=0, bits 29:24 = 001000). */
  private exclKind(c: CompiledDef): 'load' | 'store' | null {
    const need = (0x3f << 24) | (1 << 23) | (1 << 22);
    if ((c.mask & need) >>> 0 !== need >>> 0) return null;
    if (((c.value >>> 24) & 0x3f) !== 0x08 || c.value & (1 << 23)) return null;
    return c.value & (1 << 22) ? 'load' : 'store';
  }

  /** A store of the load/store ordered group (STLR and friends: bits 29:24 = 001000, o2 = 1, L = 0). */
  private isOrderedStore(c: CompiledDef): boolean {
    const need = (0x3f << 24) | (1 << 23) | (1 << 22);
    return (c.mask & need) >>> 0 === need >>> 0 && ((c.value >>> 24) & 0x3f) === 0x08 && (c.value & (1 << 23)) !== 0 && (c.value & (1 << 22)) === 0;
  }

  private genMem(): GenCase {
    const r = this.rng;
    const cls = this.cls;
    const n = cls === 'ldst' ? r.range(1, 4) : cls === 'atomic' ? r.range(1, 3) : r.range(1, 4);
    const regs = this.newRegs();
    const placed: Placed[] = [];
    const bases: (number | undefined)[] = [];
    /** Registers that earlier instructions name in a field other than a reusable base. */
    const touched = new Set<number>();
    /** Registers used as bases (in the ldst class a base is never reused: writeback forms change it). */
    const baseRegs = new Set<number>();
    const patches: Word64[] = [];
    const reuseBases = cls !== 'ldst';
    const loads = this.defs.filter((c) => this.exclKind(c) === 'load');
    const stores = this.defs.filter((c) => this.exclKind(c) === 'store');
    // Where a back-to-back load-exclusive/store-exclusive pair on one base starts (-1: none).
    const pairAt = cls === 'ldst-excl' && loads.length > 0 && stores.length > 0 && r.chance(0.6) ? r.range(0, Math.max(0, n - 2)) : -1;
    /**
     * The last load-exclusive not yet followed by a store-exclusive. A
     * store-exclusive after it has the same size (a different size is
     * CONSTRAINED UNPREDICTABLE, and QEMU 7.2 then stores but reports failure),
     * and no ordered store (STLR) comes between them (whether a store by the
     * same PE clears the local monitor is IMPLEMENTATION DEFINED).
     */
    let armed: Placed | null = null;
    let pairStore = false;

    let guard = 0;
    for (let i = 0; i < n && guard < 1000; i++, guard++) {
      let c: CompiledDef;
      const fixed: Fields = {};
      if (i === pairAt) c = r.pick(loads);
      else if (pairStore) c = r.pick(stores);
      else c = r.pick(this.defs);
      const kind = this.exclKind(c);
      if (armed !== null && kind === 'store') {
        const o1 = armed.c.value & (1 << 21);
        if ((c.value & (1 << 21)) !== o1) {
          const same = stores.filter((x) => (x.value & (1 << 21)) === o1);
          if (same.length === 0) {
            i--;
            continue;
          }
          c = r.pick(same);
        }
        for (const k of ['size', 'sz']) if (k in armed.f && c.fields.some((s) => s.name === k)) fixed[k] = armed.f[k];
        if (pairStore) fixed.Rn = armed.f.Rn;
      } else if (armed !== null && this.isOrderedStore(c)) {
        i--;
        continue;
      }
      if (!('Rn' in fixed) && c.fields.some((s) => s.name === 'Rn')) {
        // Choose a base register: free of earlier writes; SP sometimes.
        const ok = (x: number): boolean => !touched.has(x) && (reuseBases || !baseRegs.has(x));
        let b = -1;
        if (r.chance(0.12) && ok(31)) b = 31;
        else if (reuseBases && baseRegs.size > 0 && r.chance(0.4)) b = r.pick([...baseRegs].filter(ok).concat([-1]));
        for (let k = 0; k < 16 && b < 0; k++) {
          const x = this.regPool();
          if (ok(x)) b = x;
        }
        if (b < 0) {
          i--;
          continue; // nothing free: try another instruction
        }
        fixed.Rn = b;
      }
      const base = fixed.Rn ?? -1;
      const p = this.make(c, fixed, (name, taken) => {
        const avoid = new Set([...taken, base]);
        for (let k = 0; k < 32; k++) {
          const x = this.regPool();
          if (!avoid.has(x)) return x;
        }
        for (let x = 0; x < 32; x++) if (!avoid.has(x)) return x;
        return 0;
      });
      if (p === null) {
        i--;
        continue;
      }
      pairStore = i === pairAt;
      if (kind === 'load') armed = p;
      else if (kind === 'store') armed = null;
      placed.push(p);
      for (const s of p.c.fields) if (isReg(s.name) && s.name !== 'Rn') touched.add(p.f[s.name]);
      if (base >= 0) baseRegs.add(base);
      bases.push(base >= 0 ? base : undefined);
    }

    // Index registers: small signed values.
    for (const p of placed) if ('Rm' in p.f && !baseRegs.has(p.f.Rm)) setReg64(regs, p.f.Rm, BigInt.asUintN(64, BigInt(r.range(-64, 64))));
    // Bases: into the data area.
    const strict = cls !== 'ldst';
    for (const b of baseRegs) {
      let off: number;
      const y = r.below(100);
      if (b === SP) off = 16 * r.below(DATA_SIZE / 16);
      else if (strict) off = y < 85 ? 16 * r.below(DATA_SIZE / 16) : y < 93 ? r.below(DATA_SIZE) : 16 * r.below(DATA_SIZE / 16) + 8;
      else off = y < 30 ? 16 * r.below(DATA_SIZE / 16) : y < 60 ? r.below(DATA_SIZE) : y < 80 ? r.below(64) : DATA_SIZE - 1 - r.below(64);
      // A store-exclusive's base stays aligned: QEMU 7.2 fails an unaligned STXR/STXP whose monitor is not
      // armed for that address without the alignment fault the architecture requires (ExclusiveMonitorsPass
      // checks alignment first), so such cases would only measure QEMU.
      if (cls === 'ldst-excl' && placed.some((p) => p.f.Rn === b && this.exclKind(p.c) === 'store')) off &= ~15;
      let v = BigInt(DATA_BASE + off);
      if (r.chance(0.05)) v |= BigInt(r.range(1, 255)) << 56n; // a tag in the top byte (TBI0)
      setReg64(regs, b, v);
    }
    // CAS/CASP: often preset the memory to the compare value.
    for (const p of placed) {
      if (!('Rs' in p.f) || !p.c.def.name.startsWith('CAS') || !r.chance(0.5)) continue;
      const ea = Number(reg64(regs, p.f.Rn)) - DATA_BASE;
      const s = p.f.Rs;
      const bytes: number[] = [];
      const push = (v: bigint, n: number): void => {
        for (let k = 0; k < n; k++) bytes.push(Number((v >> BigInt(8 * k)) & 0xffn));
      };
      if (p.c.def.name.startsWith('CASP')) {
        const w = p.f.sz ? 8 : 4;
        push(s === 31 ? 0n : reg64(regs, s), w);
        push(s + 1 >= 31 ? 0n : reg64(regs, s + 1), w);
      } else push(s === 31 ? 0n : reg64(regs, s), 8);
      this.patchBytes(patches, ea, bytes);
    }
    return this.finish(placed, regs, bases, patches);
  }

  /** Adds patches so that the data area holds `bytes` at offset `off` (bytes outside the area are dropped). */
  patchBytes(patches: Word64[], off: number, bytes: number[]): void {
    const view = new DataView(this.pristine.buffer);
    for (let k = 0; k < bytes.length; k++) {
      const o = off + k;
      if (o < 0 || o >= DATA_SIZE) continue;
      const w = o & ~7;
      let q = patches.find((x) => x.off === w);
      if (q === undefined) {
        q = { off: w, lo: view.getUint32(w, true), hi: view.getUint32(w + 4, true) };
        patches.push(q);
      }
      const sh = 8 * (o & 3);
      if (o & 4) q.hi = ((q.hi & ~(0xff << sh)) | (bytes[k] << sh)) >>> 0;
      else q.lo = ((q.lo & ~(0xff << sh)) | (bytes[k] << sh)) >>> 0;
    }
  }

  /**
   * After a run on the PE: if a data access faulted outside the data area,
   * moves the faulting instruction's base register so that the access lands
   * inside (with probability 0.85). Returns true if the case changed.
   */
  steer(c: GenCase, out: Outcome): boolean {
    if ((out.sig !== 11 && out.sig !== 7) || out.other !== undefined) return false;
    const a = out.addr;
    if (a >= BigInt(DATA_BASE) && a < BigInt(DATA_BASE + DATA_SIZE)) return false;
    const idx = Number(out.pc - BigInt(CODE_BASE)) / 4;
    if (!Number.isInteger(idx) || idx < 0 || idx >= c.bases.length) return false;
    const b = c.bases[idx];
    if (b === undefined || !this.rng.chance(0.85)) return false;
    const v = reg64(c.regs, b);
    const delta = (a - v) & M64;
    const ea = BigInt(DATA_BASE + 16 * this.rng.below(DATA_SIZE / 16 - 8)) + (a & 15n);
    let nb = (ea - delta) & M64;
    if (b === SP) nb &= ~15n;
    if (nb === v) return false;
    setReg64(c.regs, b, nb);
    return true;
  }
}
