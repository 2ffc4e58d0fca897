/**
 * The function being written for one block in the WebAssembly tier, and
 * the pieces every instruction emitter shares: X registers, NZCV, PC, and
 * loads and stores through the current TLB.
 *
 * A block function has the type
 *   (blockLo i32, blockHi i32, tlb i32, limit i32, exclPage f64) -> i32
 * where blockLo/blockHi are the VA of the block's first instruction, `tlb`
 * the arena offset of the current TLB's arrays (TlbLayout), `limit` how many
 * instructions a loop may retire before it must return (0: none), and
 * exclPage the page of an armed exclusive monitor (a store to it leaves for
 * the closure, which clears the monitor). It returns (see wasm/compile.ts):
 *   k < 0x100          left before instruction k took any effect (the closures run from k; k = n: done);
 *   0x100 | r          left after r instructions with PC in the scratch area;
 *   0x300 | r          the same, PC to be set through PE.branchTo (BR, BLR, RET).
 *
 * Registers and NZCV live in the arena (PE.x; the scratch area's N, Z, C, V
 * words, copied from and to the PE's fields by the run loop around every
 * call), addressed with constant offsets from address 0.
 */
import { TLB_MASK, TlbLayout } from '../../tlb.js';
import { CodeWriter, T, W, uleb } from './encoder.js';

/**
 * The PE's scratch area (PE.scratchHost): NZCV words, the PC a block leaves
 * with, the instructions a loop's finished iterations retired, and what the
 * dispatcher reports after running blocks one into the next (wasm/dispatch.ts).
 */
export const enum Scratch {
  N = 0,
  Z = 4,
  C = 8,
  V = 12,
  PC = 16,
  ICOUNT = 24,
  /** Instructions retired by the blocks before the last one of a chain (with every loop's iterations). */
  CHAINED = 28,
  /** Table index and VA of the last block run. */
  LAST_IDX = 32,
  LAST_LO = 36,
  LAST_HI = 40,
  /** PSTATE.EL | PSTATE.SP << 2, written by the run loop before each call (MRS needs them). */
  MODE = 44,
}

/** Return codes (above). */
export const RET_PC = 0x100;
export const RET_BRANCH_TO = 0x300;

// Parameters and locals.
const P_LO = 0, P_HI = 1, P_TLB = 2, P_LIMIT = 3, P_EXCL = 4;
const L_PAGE = 5;
const L_ICOUNT = 6;
/** First of the i64 and i32 temporaries an instruction may use (reused by the next one). */
const L_I64 = 7;
const N_I64 = 8;
const L_I32 = L_I64 + N_I64;
const N_I32 = 8;

export const BLOCK_PARAMS: T[] = [T.i32, T.i32, T.i32, T.i32, T.f64];
export const BLOCK_RESULTS: T[] = [T.i32];
export const BLOCK_LOCALS: readonly (readonly [number, T])[] = [[1, T.i64], [1, T.i32], [N_I64, T.i64], [N_I32, T.i32]];

/** i64 temporaries L(0)..L(7) and i32 temporaries I(0)..I(7) (local indexes). */
export const L = (i: number): number => L_I64 + i;
export const I = (i: number): number => L_I32 + i;

export class WasmBlock extends CodeWriter {
  /** Blocks/ifs open around the current position, and the count inside the loop (for `br` depths). */
  private depth = 0;
  private loopDepth = -1;

  constructor(
    /** Arena offsets of the PE's X registers, scratch area, banked stack pointers and system registers. */
    readonly xHost: number,
    readonly scratch: number,
    readonly spBankHost: number,
    readonly srHost: number,
    /** Byte offset of the block's first instruction in its page. */
    readonly startOff: number,
    readonly isLoop: boolean,
  ) {
    super();
  }

  /** if (cond on the stack) { ... } */
  if(then: () => void, otherwise?: () => void): this {
    this.op(W.if, T.void);
    this.depth++;
    then();
    if (otherwise !== undefined) {
      this.op(W.else);
      otherwise();
    }
    this.op(W.end);
    this.depth--;
    return this;
  }

  /** Opens the loop a self-looping block's body sits in. */
  beginLoop(): void {
    this.op(W.loop, T.void);
    this.loopDepth = ++this.depth;
  }

  endLoop(): void {
    this.op(W.end);
    this.depth--;
  }

  /** Branch back to the start of the loop. */
  continueLoop(): void {
    this.op(W.br);
    uleb(this.code, this.depth - this.loopDepth);
  }

  // ---- Registers (slot indexes as regs.ts: src, dst, srcSp, dstSp) ----

  /** Pushes the 64-bit register at slot `s`. */
  x64(s: number): this { return this.i32(0).mem(W.i64_load, 3, this.xHost + 4 * s); }
  /** Pushes bits 31:0 of the register at slot `s`. */
  x32(s: number): this { return this.i32(0).mem(W.i32_load, 2, this.xHost + 4 * s); }
  /** Writes the i64 that `value` pushes to the register at slot `s`. */
  setX64(s: number, value: () => void): this {
    this.i32(0);
    value();
    return this.mem(W.i64_store, 3, this.xHost + 4 * s);
  }
  /** Writes the i32 that `value` pushes, zero-extended, to the register at slot `s`. */
  setX32(s: number, value: () => void): this {
    return this.setX64(s, () => {
      value();
      this.op(W.i64_extend_i32_u);
    });
  }

  // ---- NZCV ----

  flag(f: Scratch): this {
    return this.i32(0).mem(W.i32_load, 2, this.scratch + f);
  }
  setFlag(f: Scratch, value: () => void): this {
    this.i32(0);
    value();
    return this.mem(W.i32_store, 2, this.scratch + f);
  }
  /** NZCV of a result in i64 local `r` (or i32 local with `w`): N and Z from it, C = V = 0. */
  logicFlags(r: number, w: boolean): this {
    this.setFlag(Scratch.N, () => (w ? this.get(r).i32(31).op(W.i32_shr_u) : this.get(r).i64(63).op(W.i64_shr_u, W.i32_wrap_i64)));
    this.setFlag(Scratch.Z, () => this.get(r).op(w ? W.i32_eqz : W.i64_eqz));
    this.setFlag(Scratch.C, () => this.i32(0));
    return this.setFlag(Scratch.V, () => this.i32(0));
  }

  /** Pushes ConditionHolds(cond) as 0 or 1. */
  cond(c: number): this {
    switch (c >> 1) {
      case 0: this.flag(Scratch.Z); break;
      case 1: this.flag(Scratch.C); break;
      case 2: this.flag(Scratch.N); break;
      case 3: this.flag(Scratch.V); break;
      case 4: this.flag(Scratch.C).flag(Scratch.Z).op(W.i32_eqz, W.i32_and); break;
      case 5: this.flag(Scratch.N).flag(Scratch.V).op(W.i32_eq); break;
      case 6: this.flag(Scratch.N).flag(Scratch.V).op(W.i32_eq).flag(Scratch.Z).op(W.i32_eqz, W.i32_and); break;
      default: return this.i32(1); // AL and NV
    }
    if (c & 1) this.op(W.i32_eqz);
    return this;
  }

  // ---- PC and leaving the block ----

  /** Pushes the block's page base + `delta` (PC-relative targets: the block never crosses its page). */
  pageRel(delta: number): this {
    return this.get(L_PAGE).i64(delta).op(W.i64_add);
  }
  /** Computes the page base once, on entry. */
  prologue(): void {
    this.get(P_HI).op(W.i64_extend_i32_u).i64(32).op(W.i64_shl).get(P_LO).op(W.i64_extend_i32_u, W.i64_or).i64(-4096).op(W.i64_and).set(L_PAGE);
  }
  /** Writes the i64 `value` pushes as the PC the block leaves with. */
  setPc(value: () => void): this {
    this.i32(0);
    value();
    return this.mem(W.i64_store, 3, this.scratch + Scratch.PC);
  }
  /** Returns `code` (a loop first writes the instructions its finished iterations retired). */
  exit(code: number): this {
    if (this.isLoop) this.i32(0).get(L_ICOUNT).mem(W.i32_store, 2, this.scratch + Scratch.ICOUNT);
    return this.i32(code).op(W.return);
  }

  /**
   * The back edge of a self-looping block, taken when the condition on the
   * stack holds after r instructions of this pass: another pass if the
   * count stays below `limit`, else leave with PC at the block's start.
   */
  loopBack(r: number): void {
    this.if(() => {
      this.get(L_ICOUNT).i32(r).op(W.i32_add).tee(I(7)).get(P_LIMIT).op(W.i32_ge_s);
      this.if(() => {
        this.i32(0).get(P_LO).mem(W.i32_store, 2, this.scratch + Scratch.PC);
        this.i32(0).get(P_HI).mem(W.i32_store, 2, this.scratch + Scratch.PC + 4);
        this.exit(RET_PC | r);
      });
      this.get(I(7)).set(L_ICOUNT);
      this.continueLoop();
    });
  }

  // ---- Memory through the TLB ----

  /**
   * The TLB fast path for an access of 1 << size bytes at the VA in i64
   * local `va`: leaves with `exit(k)` unless the current TLB has the page for
   * this kind of access, in the arena, and the access stays inside it (and
   * is aligned on Device memory); a store also leaves when the page holds an
   * armed exclusive monitor. Afterwards i32 local `host` holds the arena
   * address of the access. `slot` is an i32 local for the TLB entry's address.
   */
  tlbAccess(write: boolean, size: number, va: number, slot: number, host: number, k: number): void {
    const bytes = 1 << size;
    this.get(va).i64(12).op(W.i64_shr_u, W.i32_wrap_i64).i32(TLB_MASK).op(W.i32_and).i32(2).op(W.i32_shl).get(P_TLB).op(W.i32_add).set(slot);
    this.get(slot).mem(W.i32_load, 2, write ? TlbLayout.W_TAG : TlbLayout.R_TAG).get(va).i64(12).op(W.i64_shr_u, W.i32_wrap_i64, W.i32_eq);
    this.get(slot).mem(W.i32_load, 2, write ? TlbLayout.W_TAG_HI : TlbLayout.R_TAG_HI).get(va).i64(44).op(W.i64_shr_u, W.i32_wrap_i64, W.i32_eq, W.i32_and);
    if (size > 0) {
      this.get(va).op(W.i32_wrap_i64).i32(4095).op(W.i32_and).i32(4096 - bytes).op(W.i32_le_u, W.i32_and);
      this.get(va).op(W.i32_wrap_i64).i32(bytes - 1).op(W.i32_and).get(slot).mem(W.i32_load, 2, TlbLayout.DEV).op(W.i32_and, W.i32_eqz, W.i32_and);
    }
    this.get(slot).mem(W.i32_load, 2, TlbLayout.HOST).tee(host).i32(0).op(W.i32_ge_s, W.i32_and);
    this.op(W.i32_eqz).if(() => this.exit(k));
    if (write) {
      // TlbLayout.PA is a float64 array: entry address tlb + 8 * i = 2 * slot - tlb.
      this.get(slot).get(slot).op(W.i32_add).get(P_TLB).op(W.i32_sub).mem(W.f64_load, 3, TlbLayout.PA).get(P_EXCL).op(W.f64_eq).if(() => this.exit(k));
    }
    this.get(host).get(va).op(W.i32_wrap_i64).i32(4095).op(W.i32_and, W.i32_add).set(host);
  }
}
