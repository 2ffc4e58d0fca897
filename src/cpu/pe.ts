/**
 * The processing element: AArch64 register file, PSTATE, system registers,
 * memory access through the software TLB, the decoded-block cache and the
 * run loop.
 *
 * EL2 is not executed by this PE: the hypervisor (L0) is TypeScript code. An
 * exception taken to EL2 ends `run()` with `RunExit.El2`, leaving the
 * architectural record in ESR_EL2, FAR_EL2, HPFAR_EL2, ELR_EL2 and SPSR_EL2;
 * L0 then handles it and resumes the PE with `eretFromEl2()` (the ERET its
 * own code would execute).
 *
 * Performance rules (docs/ARCHITECTURE.md): 64-bit values are pairs of 32-bit
 * halves in typed arrays; no BigInt on any path an instruction takes.
 */
import { PhysicalBus, RamRegion } from './bus.js';
import { Decoder, InsnFlags, Op } from './decoder.js';
import { TLB_MASK, Tlb } from './tlb.js';
import { NUM_SYSREGS, sr } from '../arch/sysregs.js';
import { EC, FSC } from '../arch/esr.js';
import { DAIF_D, DAIF_A, DAIF_I, DAIF_F, SPSR_PAN, SPSR_UAO, SPSR_SS, SPSR_IL, SPSR_M_AARCH32 } from './pstate.js';
import { CpuFeatures, defaultFeatures } from './features.js';
import { translate, Access } from './mmu/translate.js';
import { takeException, enterException, checkInterrupts, ExceptionTaken } from './exceptions.js';
import { insnTable } from './insn/table.js';
import { GenericTimer } from './timer.js';
import { GicCpuInterface } from './gic/cpuif.js';
import { CompiledBlock, compileBlock } from './jit/compile.js';
import { WASM_PENDING, flushWasmBlocks, queueWasmBlock, wasmBlocksDropped } from './jit/wasm/compile.js';

/** Register slot indices into `pe.x` (each slot is two int32s: [2n] = bits 31:0, [2n+1] = bits 63:32). */
export const SLOT_ZR = 31; // reads as zero; never written
export const SLOT_SP = 32; // the current stack pointer (SP_EL0 or SP_ELx per PSTATE.SPSel)
export const SLOT_SINK = 33; // writes to XZR land here and are never read

/** Why `run()` returned. */
export const enum RunExit {
  /** The instruction budget is spent. */
  Budget = 0,
  /** An exception was taken to EL2: the syndrome is in ESR_EL2 and friends. */
  El2 = 1,
  /** WFI/WFE with nothing to do: the caller should advance time or wait for an interrupt. */
  Wfi = 2,
  /** The host asked the PE to stop (`requestStop`). */
  Stopped = 3,
}

export interface Block {
  readonly ops: Op[];
  /** Physical address of the first instruction. */
  readonly pa: number;
  /** Number of instructions. */
  readonly n: number;
  /** Whether the last instruction is a conditional branch (the block can then be extended into a superblock). */
  readonly endsInCondBranch: boolean;
  /** Whether the block was decoded as a superblock (past conditional branches). */
  readonly superblock: boolean;
  /** Whether the WebAssembly tier could not take the block (it then waits for PE.jsThreshold runs). */
  noWasm: boolean;
  /** The block's entry in the WebAssembly tier's table, or -1 (jit/wasm/compile.ts). */
  wasmIdx: number;
  /** False once the block has been dropped (its code was overwritten or IC invalidated it). */
  valid: boolean;
  /**
   * Two most recent successors in the same page (direct block chaining). A
   * successor in the same virtual page needs no translation: the page's
   * mapping and execute permission are those the block itself was fetched with.
   */
  s0: Block | null;
  s1: Block | null;
  /** Times run by the closure loop (runOps); past PE.jitThreshold the block is compiled. */
  hits: number;
  /** The block compiled to JavaScript source (jit/compile.ts) once it is hot. */
  fn: CompiledBlock | null;
  /** Whether `fn` is the compiled function (the last tier: runs are no longer counted). */
  compiled: boolean;
}


/**
 * Runs after which a block is compiled to JavaScript source (jit/compile.ts)
 * by default. Below it a block runs as a loop over its ops (runOps): that
 * loop and the ops are shared code V8 has long optimized, while every
 * generated function has to be optimized on its own (V8 compiles one at a
 * time on a background thread, in about a millisecond): only blocks that
 * will run many more times repay it. Measured on the Linux boot (README).
 *
 * NESTVISOR_JIT=0 (or off) turns the compiled tier off, NESTVISOR_JIT=always
 * compiles every block the first time it runs (to test the tier itself), and
 * NESTVISOR_JIT=N sets the threshold.
 */
export const JIT_THRESHOLD = 20000;
/**
 * Runs after which a block is compiled to WebAssembly when the PE has that
 * tier (jit/wasm/compile.ts): V8 compiles a batch of blocks at once with
 * its baseline compiler, so warm blocks pay off too. Measured on the Linux
 * boot: 1000 and 3000 equal, 500 and 10000 slower (README).
 * NESTVISOR_WASM=0 turns the tier off; NESTVISOR_JIT applies to it as to
 * the JavaScript tier.
 */
export const WASM_THRESHOLD = 1000;
const JIT_ENV = typeof process === 'undefined' ? undefined : process.env.NESTVISOR_JIT;
const WASM_ENV = typeof process === 'undefined' ? undefined : process.env.NESTVISOR_WASM;
const DEFAULT_JIT_THRESHOLD =
  JIT_ENV === '0' || JIT_ENV === 'off' ? Infinity : JIT_ENV === 'always' ? 0 : JIT_ENV !== undefined && /^\d+$/.test(JIT_ENV) ? Number(JIT_ENV) : JIT_THRESHOLD;

/** Indexes of the TLBs: one per translation regime and privilege. */
export const enum TlbIndex {
  EL0 = 0,
  EL1 = 1,
  EL1_PAN = 2,
}

export class PE {
  /** General registers X0..X30, XZR, SP, sink; see SLOT_*. In the bus's host arena when it has one (jit/wasm). */
  readonly x: Int32Array;
  /**
   * Arena offset of `x` and of this PE's scratch area (jit/wasm/block.ts
   * Scratch: NZCV, PC and counts passed between the run loop and
   * WebAssembly blocks), or -1 without an arena.
   */
  readonly xHost: number;
  readonly scratchHost: number;
  /** PC as two unsigned 32-bit halves. */
  pcLo = 0;
  pcHi = 0;
  // PSTATE
  n = 0;
  z = 0;
  c = 0;
  v = 0;
  el = 1;
  spsel = 1;
  /** D, A, I, F as bits 3..0. */
  daif = DAIF_D | DAIF_A | DAIF_I | DAIF_F;
  pan = 0;
  uao = 0;
  ss = 0;
  il = 0;
  /** Banked stack pointers SP_EL0..SP_EL2 as lo/hi pairs; the current one lives in slot SLOT_SP. */
  readonly spBank: Int32Array;
  /** System registers by id (arch/sysregs.ts). */
  readonly sr: Int32Array;
  /** Arena offsets of spBank and sr (-1 without an arena). */
  readonly spBankHost: number;
  readonly srHost: number;

  /**
   * The SIMD&FP registers V0..V31, 128 bits each, little-endian lanes: Vn
   * occupies bytes [16n, 16n+16). The typed views alias one buffer so that an
   * op reads a lane in the element type it needs (vf64[2n] is Dn, vf32[4n] is
   * Sn, v32[4n..4n+3] the four words of Qn).
   */
  readonly vbuf = new ArrayBuffer(32 * 16);
  readonly v8 = new Uint8Array(this.vbuf);
  readonly v16 = new Uint16Array(this.vbuf);
  readonly v32 = new Int32Array(this.vbuf);
  readonly vf32 = new Float32Array(this.vbuf);
  readonly vf64 = new Float64Array(this.vbuf);
  readonly vview = new DataView(this.vbuf);
  /** FPCR and FPSR (32 bits each are all that is defined). */
  fpcr = 0;
  fpsr = 0;
  /**
   * Whether FP/SIMD instructions may execute at the current EL without a trap
   * (CPACR_EL1.FPEN and CPTR_EL2.TFP), recomputed when those registers or the
   * EL change; FP ops test it first and call `fpTrap()` when it is false.
   */
  fpEnabled = false;

  readonly features: CpuFeatures;
  readonly decoder: Decoder;
  readonly timer: GenericTimer;
  /** The GICv3 CPU interface, virtual part (ICH_*_EL2 state in `sr`, the ICV_* registers EL1 sees): gic/cpuif.ts. */
  readonly gic: GicCpuInterface;

  // Memory
  /**
   * Stage-2 translations of the IPA pages stage-1 descriptors were read
   * from (IPA page number -> PA of the page), so that a stage-1 walk under
   * stage 2 walks stage 2 once per table page rather than once per level.
   * Emptied wherever the TLBs are (any change of VTTBR_EL2, VTCR_EL2,
   * HCR_EL2, and every TLBI that reaches stage 2).
   */
  readonly s2PtwCache = new Map<number, number>();
  readonly tlbs: Tlb[];
  tlb: Tlb;
  /**
   * Syndrome bits ISV|SAS|SSE|SRT|SF|AR (ESR_ELx.ISS[24:14]) that the current
   * load/store would report in a data abort, or 0 when ISV must be 0 (pairs,
   * writeback forms, SIMD). Set by single-register load/store ops before they access memory.
   */
  dataIss = 0;
  /** Bits 63:32 of the effective address an instruction computed (its bits 31:0 are passed directly). */
  eaHi = 0;
  /** Bits 63:32 of the last 64-bit load (ld64 returns bits 31:0). */
  ldHi = 0;
  /** The exclusive monitor: armed address (physical) and size, -1 when open. */
  exclPa = -1;
  exclSize = 0;

  // Decoded blocks
  private readonly blocks = new Map<number, Block>();
  /**
   * A direct-mapped cache in front of `blocks`, indexed by PA bits [13:2]:
   * guest physical addresses are beyond the small-integer range, so a Map
   * lookup hashes a heap number; a hit here is one array read and a compare.
   */
  private readonly blockCache: (Block | null)[] = new Array<Block | null>(BLOCK_CACHE_SIZE).fill(null);
  /** Physical page number -> block keys decoded from it. */
  private readonly codePages = new Map<number, CodePage>();

  // Execution
  /** Virtual address of the running block's first instruction. */
  blockLo = 0;
  blockHi = 0;
  /** Index in the running block of the instruction now executing. */
  opIndex = 0;
  /** Instructions retired since reset. */
  icount = 0;
  /**
   * Set by a WebAssembly block that went on into other blocks (jit/wasm/compile.ts): the block that ran
   * last, whose VA is then blockLo/blockHi and whose result the compiled function returned.
   */
  chained: Block | null = null;
  /** Set by a taken conditional branch (branchTakenTo); whoever runs the block's ops clears it and leaves the block. */
  branchTaken = false;
  /** The instruction count at which the current run() ends (compiled loops test it). */
  runEnd = 0;
  /**
   * Runs of a block before it is compiled to JavaScript source (jit/compile.ts);
   * Infinity keeps every block on the closures.
   */
  jitThreshold: number;
  /**
   * With the WebAssembly tier, runs after which a block it cannot take is
   * compiled to JavaScript source instead (JIT_THRESHOLD).
   */
  jsThreshold: number;
  /** Whether hot blocks are compiled to WebAssembly (jit/wasm): the bus has a host arena and the host compiles WebAssembly. */
  wasmTier: boolean;
  /** Set when an interrupt input or mask changed; checked at block boundaries. */
  irqCheck = true;
  exitReason: RunExit = RunExit.Budget;
  private stopRequested = false;
  /** Interrupt inputs from the interrupt controller: physical IRQ/FIQ, and SError. */
  irqLine = false;
  fiqLine = false;
  /** Virtual interrupt inputs from the GIC virtual CPU interface (HCR_EL2.VI/VF are read from the register). */
  virqLine = false;
  vfiqLine = false;
  /**
   * The GIC maintenance interrupt (PPI 25 for L0): ICH_HCR_EL2.En and a
   * non-zero ICH_MISR_EL2. `onMaintenance` is called when it changes.
   */
  maintenanceIrq = false;
  onMaintenance: ((level: boolean) => void) | null = null;
  /**
   * Called when the guest deactivates a virtual interrupt held in a list
   * register with HW = 1: L0 deactivates the physical interrupt `pintid`
   * (re-enables its source).
   */
  gicHwDeactivate: ((pintid: number) => void) | null = null;
  /** Vector type (VECTOR_SYNC/IRQ/FIQ/SERROR) of the last exception taken to EL2. */
  el2Vector = 0;
  /** True while the PE sits in WFI/WFE. */
  waiting = false;
  /** The Event Register (set by SEV, SEVL and exception returns; WFE consumes it). */
  eventRegister = false;
  /** Optional hook for tracing each decoded block as it starts. */
  onBlock: ((pe: PE, block: Block) => void) | null = null;
  /** Optional hook called as an exception is taken (before PSTATE changes), for `-d int` logs and statistics. */
  onException: ((pe: PE, target: number, vector: number, esr: number, ret: bigint) => void) | null = null;

  constructor(readonly bus: PhysicalBus, features: Partial<CpuFeatures> = {}) {
    const arena = bus.arena;
    // X registers, the scratch area, SP_EL0..SP_EL2 and the system registers, in that order (8-byte aligned each).
    const xAt = arena === null ? -1 : arena.alloc(8 * 34 + SCRATCH_BYTES + 32 + 8 * NUM_SYSREGS, 64);
    const spAt = xAt + 8 * 34 + SCRATCH_BYTES, srAt = spAt + 32;
    this.x = xAt < 0 ? new Int32Array(2 * 34) : new Int32Array(arena!.buffer, xAt, 2 * 34);
    this.spBank = xAt < 0 ? new Int32Array(6) : new Int32Array(arena!.buffer, spAt, 6);
    this.sr = xAt < 0 ? new Int32Array(2 * NUM_SYSREGS) : new Int32Array(arena!.buffer, srAt, 2 * NUM_SYSREGS);
    this.xHost = xAt;
    this.scratchHost = xAt < 0 ? -1 : xAt + 8 * 34;
    this.spBankHost = xAt < 0 ? -1 : spAt;
    this.srHost = xAt < 0 ? -1 : srAt;
    this.tlbs = [new Tlb('EL0', arena), new Tlb('EL1', arena), new Tlb('EL1-PAN', arena)];
    this.wasmTier = WASM_ENV !== '0' && WASM_ENV !== 'off' && xAt >= 0 && this.tlbs.every((t) => t.base >= 0);
    this.jitThreshold = this.wasmTier && JIT_ENV === undefined ? WASM_THRESHOLD : DEFAULT_JIT_THRESHOLD;
    this.jsThreshold = Math.max(this.jitThreshold, JIT_THRESHOLD);
    this.features = { ...defaultFeatures(), ...features };
    this.decoder = new Decoder(insnTable(), new Set(Object.entries(this.features).filter(([, v]) => v === true).map(([k]) => k)));
    this.tlb = this.tlbs[TlbIndex.EL1];
    this.timer = new GenericTimer(this);
    this.gic = new GicCpuInterface(this);
    bus.attachCodeHolder(this);
    this.reset();
  }

  /** Architectural reset into EL1h with the MMU off and interrupts masked. */
  reset(): void {
    this.x.fill(0);
    this.sr.fill(0);
    this.spBank.fill(0);
    this.pcLo = this.pcHi = 0;
    this.n = this.z = this.c = this.v = 0;
    this.el = 1;
    this.spsel = 1;
    this.daif = DAIF_D | DAIF_A | DAIF_I | DAIF_F;
    this.pan = this.uao = this.ss = this.il = 0;
    this.exclPa = -1;
    this.waiting = false;
    this.eventRegister = false;
    this.resetSysregs();
    this.gic.reset();
    this.flushTlbs();
    this.updateTlbSelection();
  }

  private resetSysregs(): void {
    const f = this.features;
    this.setSr(sr('MIDR_EL1'), f.midr >>> 0, 0);
    this.setSr(sr('VPIDR_EL2'), f.midr >>> 0, 0);
    this.setSr(sr('MPIDR_EL1'), (0x80000000 | f.mpidrAff) >>> 0, 0);
    this.setSr(sr('VMPIDR_EL2'), (0x80000000 | f.mpidrAff) >>> 0, 0);
    for (const [name, [lo, hi]] of Object.entries(f.idRegs)) this.setSr(sr(name), lo, hi);
    // SCTLR_EL1 resets with RES1 bits set and M, C, I clear.
    this.setSr(sr('SCTLR_EL1'), 0x30d00800, 0);
    this.setSr(sr('CNTFRQ_EL0'), f.cntfrq, 0);
    this.setSr(sr('CTR_EL0'), 0x8444c004, 0);
    this.setSr(sr('DCZID_EL0'), 4, 0); // 64-byte DC ZVA blocks
    this.setSr(sr('CLIDR_EL1'), 0x0a200023, 0);
    // EL1 and EL0 may use the physical counter and timer (CNTHCTL_EL2.EL1PCTEN, EL1PCEN) until L0 says otherwise.
    this.setSr(sr('CNTHCTL_EL2'), 3, 0);
  }

  // ---- System registers -------------------------------------------------

  getSrLo(id: number): number { return this.sr[2 * id]; }
  getSrHi(id: number): number { return this.sr[2 * id + 1]; }
  setSr(id: number, lo: number, hi: number): void {
    this.sr[2 * id] = lo;
    this.sr[2 * id + 1] = hi;
  }
  /** 64-bit value of a system register, for API edges and tests (BigInt is fine here). */
  readSysreg(name: string): bigint {
    const id = sr(name);
    return (BigInt(this.sr[2 * id + 1] >>> 0) << 32n) | BigInt(this.sr[2 * id] >>> 0);
  }
  writeSysreg(name: string, value: bigint): void {
    const id = sr(name);
    this.setSr(id, Number(value & 0xffffffffn) | 0, Number((value >> 32n) & 0xffffffffn) | 0);
    this.sysregChanged(id);
  }
  /** Called after a write to a register that affects translation, interrupts or timers. */
  sysregChanged(id: number): void {
    if (TRANSLATION_REGS.has(id)) this.flushTlbs();
    if (id === SR_HCR_EL2) this.irqCheck = true;
    if (id === SR_CPACR_EL1 || id === SR_CPTR_EL2) this.updateFpEnabled();
    this.timer.sysregChanged(id);
    this.gic.sysregChanged(id);
  }

  // ---- General registers (API edge) --------------------------------------

  getX(n: number): bigint {
    return (BigInt(this.x[2 * n + 1] >>> 0) << 32n) | BigInt(this.x[2 * n] >>> 0);
  }
  setX(n: number, v: bigint): void {
    if (n < 0 || n > 30) throw new RangeError(`X${n} is not a general register`);
    this.x[2 * n] = Number(v & 0xffffffffn) | 0;
    this.x[2 * n + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
  }
  getSp(): bigint {
    return (BigInt(this.x[2 * SLOT_SP + 1] >>> 0) << 32n) | BigInt(this.x[2 * SLOT_SP] >>> 0);
  }
  setSp(v: bigint): void {
    this.x[2 * SLOT_SP] = Number(v & 0xffffffffn) | 0;
    this.x[2 * SLOT_SP + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
  }
  get pc(): bigint {
    return (BigInt(this.pcHi >>> 0) << 32n) | BigInt(this.pcLo >>> 0);
  }
  set pc(v: bigint) {
    this.pcLo = Number(v & 0xffffffffn) >>> 0;
    this.pcHi = Number((v >> 32n) & 0xffffffffn) >>> 0;
  }

  // ---- PSTATE -----------------------------------------------------------

  /** PSTATE packed in the SPSR layout. */
  getPstate(): number {
    return (
      ((this.n << 31) | (this.z << 30) | (this.c << 29) | (this.v << 28) |
        (this.uao ? SPSR_UAO : 0) | (this.pan ? SPSR_PAN : 0) | (this.ss ? SPSR_SS : 0) | (this.il ? SPSR_IL : 0) |
        (this.daif << 6) | (this.el << 2) | this.spsel) >>> 0
    );
  }

  /** Sets PSTATE from an SPSR value (ERET), switching the banked SP. Returns false for an illegal return. */
  setPstate(spsr: number): void {
    this.saveSp();
    this.n = (spsr >>> 31) & 1;
    this.z = (spsr >>> 30) & 1;
    this.c = (spsr >>> 29) & 1;
    this.v = (spsr >>> 28) & 1;
    this.uao = spsr & SPSR_UAO ? 1 : 0;
    this.pan = spsr & SPSR_PAN ? 1 : 0;
    this.ss = spsr & SPSR_SS ? 1 : 0;
    this.il = spsr & SPSR_IL ? 1 : 0;
    this.daif = (spsr >>> 6) & 0xf;
    this.el = (spsr >>> 2) & 3;
    this.spsel = this.el === 0 ? 0 : spsr & 1;
    this.loadSp();
    this.updateTlbSelection();
    this.irqCheck = true;
  }

  /** Writes the current SP back to its bank (SP_EL0 when SPSel=0, else SP_ELx). */
  saveSp(): void {
    const b = this.spsel ? this.el : 0;
    this.spBank[2 * b] = this.x[2 * SLOT_SP];
    this.spBank[2 * b + 1] = this.x[2 * SLOT_SP + 1];
  }
  loadSp(): void {
    const b = this.spsel ? this.el : 0;
    this.x[2 * SLOT_SP] = this.spBank[2 * b];
    this.x[2 * SLOT_SP + 1] = this.spBank[2 * b + 1];
  }
  /** Changes PSTATE.SPSel (MSR SPSel). */
  setSpsel(v: number): void {
    this.saveSp();
    this.spsel = v & 1;
    this.loadSp();
  }

  setPan(v: number): void {
    this.pan = v & 1;
    this.updateTlbSelection();
  }

  setDaif(daif: number): void {
    this.daif = daif & 0xf;
    this.irqCheck = true;
  }

  updateTlbSelection(): void {
    this.tlb = this.tlbs[this.el === 0 ? TlbIndex.EL0 : this.pan ? TlbIndex.EL1_PAN : TlbIndex.EL1];
    this.chainOk = false;
    this.updateFpEnabled();
  }

  /**
   * Recomputes `fpEnabled` from CPACR_EL1.FPEN (bits 21:20: 0b11 no trap,
   * 0b01 traps EL0 only, otherwise traps EL0 and EL1) and CPTR_EL2.TFP (bit 10).
   */
  updateFpEnabled(): void {
    const fpen = (this.sr[2 * SR_CPACR_EL1] >>> 20) & 3;
    const el1Ok = fpen === 3 || (fpen === 1 && this.el === 1);
    const tfp = (this.sr[2 * SR_CPTR_EL2] & (1 << 10)) !== 0;
    this.fpEnabled = this.el >= 2 || (el1Ok && !tfp);
  }

  /**
   * The trap of an FP/SIMD instruction executed while disabled: to EL1 with
   * EC 0x07 when CPACR_EL1.FPEN disables it, otherwise to EL2 (CPTR_EL2.TFP).
   */
  fpTrap(): never {
    const fpen = (this.sr[2 * SR_CPACR_EL1] >>> 20) & 3;
    const el1Ok = fpen === 3 || (fpen === 1 && this.el === 1);
    const esr = (EC.FP_ASIMD << 26) | (1 << 25);
    if (!el1Ok) this.syncException(1, esr, false);
    this.syncException(2, esr, false);
  }

  flushTlbs(): void {
    for (const t of this.tlbs) t.flushAll();
    this.s2PtwCache.clear();
    this.chainOk = false;
  }

  /** False after anything that may change the running page's translation or execute permission; the next block is then looked up through the TLB. */
  private chainOk = false;

  /** Condition check for B.cond, CSEL and friends (ConditionHolds). */
  cond(c: number): boolean {
    let r: boolean;
    switch (c >> 1) {
      case 0: r = this.z === 1; break;
      case 1: r = this.c === 1; break;
      case 2: r = this.n === 1; break;
      case 3: r = this.v === 1; break;
      case 4: r = this.c === 1 && this.z === 0; break;
      case 5: r = this.n === this.v; break;
      case 6: r = this.n === this.v && this.z === 0; break;
      default: return true; // AL and NV both mean "always"
    }
    return c & 1 ? !r : r;
  }

  // ---- PC helpers for instruction semantics --------------------------------

  /**
   * Sets PC to the running block's page base plus `delta` (a signed byte
   * offset). Blocks never cross a 4 KiB page, so an instruction at page
   * offset `off` (known at decode time) branching by `imm` passes off + imm.
   */
  setPcPageRel(delta: number): void {
    const s = this.blockLo - (this.blockLo & 0xfff) + delta;
    this.pcLo = s >>> 0;
    this.pcHi = (this.blockHi + Math.floor(s / 4294967296)) >>> 0;
  }
  /**
   * Branches to an absolute address (BR, BLR, RET, ERET): AArch64.BranchAddr
   * for EL0/EL1. When TCR_EL1.TBI0/TBI1 (for the half that bit 55 selects)
   * makes the top byte ignored, bits 63:56 become copies of bit 55. Without
   * FEAT_PAuth there is no TBID, so this applies to instruction addresses too.
   */
  branchTo(lo: number, hi: number): void {
    const tcrHi = this.sr[2 * SR_TCR_EL1 + 1];
    if (hi & 0x00800000) {
      if (tcrHi & (1 << 6)) hi |= 0xff000000;
    } else if (tcrHi & (1 << 5)) hi &= 0x00ffffff;
    this.pcLo = lo >>> 0;
    this.pcHi = hi >>> 0;
  }

  /** A conditional branch taken: PC = page base + `delta`, and the (super)block is left after this instruction. */
  branchTakenTo(delta: number): void {
    this.setPcPageRel(delta);
    this.branchTaken = true;
  }

  /** Writes page base + `delta` to the register at index `d` (BL's link, ADR, ADRP). */
  writePageRel(d: number, delta: number): void {
    const s = this.blockLo - (this.blockLo & 0xfff) + delta;
    this.x[d] = s | 0;
    this.x[d + 1] = (this.blockHi + Math.floor(s / 4294967296)) | 0;
  }
  /** Address of the current instruction (block base + 4 * opIndex), low half; the high half is blockHi plus carry. */
  insnAddr(): [number, number] {
    const s = this.blockLo + 4 * this.opIndex;
    return [s >>> 0, (this.blockHi + (s > 0xffffffff ? 1 : 0)) >>> 0];
  }

  // ---- Memory ----------------------------------------------------------
  // The fast paths are written out per size so that V8 inlines each one.

  ld8(lo: number, hi: number): number {
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    if (t.rTag[i] === ((lo >>> 12) | (hi << 20)) && t.rTagHi[i] === hi >>> 12) return t.bytes[i][t.off[i] + (lo & 0xfff)];
    return this.ldSlow(lo, hi, 1);
  }
  ld16(lo: number, hi: number): number {
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    if (t.rTag[i] === ((lo >>> 12) | (hi << 20)) && t.rTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0xffe && (lo & 1 & t.dev[i]) === 0) return t.view[i].getUint16(t.off[i] + (lo & 0xfff), true);
    return this.ldSlow(lo, hi, 2);
  }
  /** Returns the 32-bit value as a signed int32. */
  ld32(lo: number, hi: number): number {
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    if (t.rTag[i] === ((lo >>> 12) | (hi << 20)) && t.rTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0xffc && (lo & 3 & t.dev[i]) === 0) return t.view[i].getInt32(t.off[i] + (lo & 0xfff), true);
    return this.ldSlow(lo, hi, 4);
  }
  /** Returns bits 31:0 (int32); bits 63:32 are left in `ldHi`. */
  ld64(lo: number, hi: number): number {
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    if (t.rTag[i] === ((lo >>> 12) | (hi << 20)) && t.rTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0xff8 && (lo & 7 & t.dev[i]) === 0) {
      const v = t.view[i];
      const o = t.off[i] + (lo & 0xfff);
      this.ldHi = v.getInt32(o + 4, true);
      return v.getInt32(o, true);
    }
    return this.ldSlow(lo, hi, 8);
  }
  st8(lo: number, hi: number, val: number): void {
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    if (t.wTag[i] === ((lo >>> 12) | (hi << 20)) && t.wTagHi[i] === hi >>> 12) {
      t.bytes[i][t.off[i] + (lo & 0xfff)] = val;
      this.touchExclusive(t.pa[i]);
      return;
    }
    this.stSlow(lo, hi, 1, val, 0);
  }
  st16(lo: number, hi: number, val: number): void {
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    if (t.wTag[i] === ((lo >>> 12) | (hi << 20)) && t.wTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0xffe && (lo & 1 & t.dev[i]) === 0) {
      t.view[i].setUint16(t.off[i] + (lo & 0xfff), val, true);
      this.touchExclusive(t.pa[i]);
      return;
    }
    this.stSlow(lo, hi, 2, val, 0);
  }
  st32(lo: number, hi: number, val: number): void {
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    if (t.wTag[i] === ((lo >>> 12) | (hi << 20)) && t.wTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0xffc && (lo & 3 & t.dev[i]) === 0) {
      t.view[i].setInt32(t.off[i] + (lo & 0xfff), val, true);
      this.touchExclusive(t.pa[i]);
      return;
    }
    this.stSlow(lo, hi, 4, val, 0);
  }
  st64(lo: number, hi: number, vlo: number, vhi: number): void {
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    if (t.wTag[i] === ((lo >>> 12) | (hi << 20)) && t.wTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0xff8 && (lo & 7 & t.dev[i]) === 0) {
      const v = t.view[i];
      const o = t.off[i] + (lo & 0xfff);
      v.setInt32(o, vlo, true);
      v.setInt32(o + 4, vhi, true);
      this.touchExclusive(t.pa[i]);
      return;
    }
    this.stSlow(lo, hi, 8, vlo, vhi);
  }

  /**
   * A store to a page clears the exclusive monitor if it covers the armed
   * granule's page. (The architecture lets any store clear it; clearing on
   * stores to the same page keeps single-PE LDXR/STXR loops working and makes
   * other PEs' stores to the granule visible.)
   */
  private touchExclusive(pagePa: number): void {
    if (this.exclPa >= 0 && pagePa === this.exclPa - (this.exclPa % 4096)) this.exclPa = -1;
  }

  /** Translates a VA for a data access, raising the fault as an exception if it fails. */
  translateData(lo: number, hi: number, write: boolean): number {
    return translate(this, lo, hi, write ? Access.Write : Access.Read);
  }

  /** Slow path: translation, page crossing, MMIO, TLB fill. */
  ldSlow(lo: number, hi: number, size: number): number {
    const unaligned = size > 1 && (lo & (size - 1)) !== 0;
    // SCTLR_ELx.A: AArch64.CheckAlignment, before translation.
    if (unaligned && this.alignmentChecked()) this.dataAbort(lo, hi, FSC.ALIGNMENT, false, false);
    const pa = translate(this, lo, hi, Access.Read);
    // Any unaligned access to Device memory (including all data accesses with stage 1 off) takes an Alignment fault.
    if (unaligned && this.lastXlDevice) this.dataAbort(lo, hi, FSC.ALIGNMENT, false, false);
    if ((lo & 0xfff) + size > 0x1000) {
      // Crosses a page: byte by byte, little-endian.
      let vlo = 0, vhi = 0;
      for (let k = 0; k < size; k++) {
        const a = (lo + k) >>> 0;
        const ah = (hi + (lo + k > 0xffffffff ? 1 : 0)) >>> 0;
        const b = this.ld8(a, ah);
        if (k < 4) vlo |= b << (8 * k);
        else vhi |= b << (8 * (k - 4));
      }
      this.ldHi = vhi;
      return size === 4 ? vlo | 0 : size === 8 ? vlo | 0 : vlo >>> 0;
    }
    const r = this.bus.findRam(pa);
    if (r !== null) {
      const o = pa - r.base;
      if (this.lastXlPerms !== 0 && !this.alignmentChecked()) this.fillTlb(lo, hi, pa, r, this.lastXlPerms);
      switch (size) {
        case 1: return r.bytes[o];
        case 2: return r.view.getUint16(o, true);
        case 4: return r.view.getInt32(o, true);
        default:
          this.ldHi = r.view.getInt32(o + 4, true);
          return r.view.getInt32(o, true);
      }
    }
    const m = this.bus.findDevice(pa);
    if (m !== null) {
      const hiBox = { value: 0 };
      const v = m.device.read(pa - m.base, size, hiBox);
      this.ldHi = hiBox.value | 0;
      return size === 4 || size === 8 ? v | 0 : v >>> 0;
    }
    return this.externalAbort(lo, hi, false, size);
  }

  stSlow(lo: number, hi: number, size: number, vlo: number, vhi: number): void {
    const unaligned = size > 1 && (lo & (size - 1)) !== 0;
    if (unaligned && this.alignmentChecked()) this.dataAbort(lo, hi, FSC.ALIGNMENT, true, false);
    const pa = translate(this, lo, hi, Access.Write);
    if (unaligned && this.lastXlDevice) this.dataAbort(lo, hi, FSC.ALIGNMENT, true, false);
    if ((lo & 0xfff) + size > 0x1000) {
      // Check both pages before writing anything, so that a fault on the second leaves memory untouched.
      const endLo = (lo + size - 1) >>> 0;
      const endHi = (hi + (lo + size - 1 > 0xffffffff ? 1 : 0)) >>> 0;
      const pa1 = translate(this, endLo, endHi, Access.Write);
      // Addresses with neither RAM nor a device abort before any byte is written.
      if (this.bus.findRam(pa) === null && this.bus.findDevice(pa) === null) this.externalAbort(lo, hi, true, size);
      if (this.bus.findRam(pa1) === null && this.bus.findDevice(pa1) === null) {
        const second = (endLo & ~0xfff) >>> 0;
        this.externalAbort(second, endHi, true, size);
      }
      for (let k = 0; k < size; k++) {
        const a = (lo + k) >>> 0;
        const ah = (hi + (lo + k > 0xffffffff ? 1 : 0)) >>> 0;
        const b = k < 4 ? (vlo >>> (8 * k)) & 0xff : (vhi >>> (8 * (k - 4))) & 0xff;
        this.st8(a, ah, b);
      }
      return;
    }
    const r = this.bus.findRam(pa);
    if (r !== null && !r.readonly) {
      const o = pa - r.base;
      const page = pa - (pa % 4096);
      if (this.bus.codePages.has(page)) this.bus.invalidateCode(pa, size);
      else if (this.lastXlPerms !== 0 && !this.alignmentChecked()) this.fillTlb(lo, hi, pa, r, this.lastXlPerms);
      if (this.exclPa >= 0 && page === this.exclPa - (this.exclPa % 4096)) this.exclPa = -1;
      switch (size) {
        case 1: r.bytes[o] = vlo; return;
        case 2: r.view.setUint16(o, vlo, true); return;
        case 4: r.view.setInt32(o, vlo, true); return;
        default:
          r.view.setInt32(o, vlo, true);
          r.view.setInt32(o + 4, vhi, true);
          return;
      }
    }
    if (r !== null) return; // ROM: writes are ignored
    const m = this.bus.findDevice(pa);
    if (m !== null) {
      m.device.write(pa - m.base, size, vlo, vhi);
      return;
    }
    this.externalAbort(lo, hi, true, size);
  }

  /** Permissions of the last successful translation (bit 0 R, 1 W, 2 X), 0 if it must not be cached. Set by the MMU. */
  lastXlPerms = 0;
  /** ASID of the last translation, -1 for a global entry. Set by the MMU. */
  lastXlAsid = -1;
  /** Log2 of the size of the last translation's block or page. Set by the MMU. */
  lastXlSizeLog2 = 12;
  /** Whether the last translation gave Device memory (unaligned accesses to it fault). Set by the MMU. */
  lastXlDevice = false;

  private fillTlb(lo: number, hi: number, pa: number, r: RamRegion, perms: number): void {
    const page = pa - (pa % 4096);
    if (page + 4096 > r.base + r.size) return;
    if (this.bus.codePages.has(page)) perms &= ~2;
    this.tlb.fill(lo, hi, perms, r.view, r.bytes, page - r.base, r.host < 0 ? -1 : r.host + page - r.base, page, this.lastXlAsid, this.lastXlSizeLog2, this.lastXlDevice);
  }

  /** SCTLR_ELx.A for the current EL (EL0 and EL1 use SCTLR_EL1). */
  alignmentChecked(): boolean {
    return (this.sr[2 * SR_SCTLR_EL1] & 2) !== 0;
  }

  /** Raises the alignment fault that exclusives, atomics and acquire/release need for unaligned addresses. */
  requireAligned(lo: number, hi: number, size: number, write: boolean): void {
    if ((lo & (size - 1)) !== 0) this.dataAbort(lo, hi, FSC.ALIGNMENT, write, false);
  }

  private externalAbort(lo: number, hi: number, write: boolean, _size: number): never {
    this.dataAbort(lo, hi, FSC.SYNC_EXTERNAL, write, false);
  }

  /**
   * Raises a data abort for VA (lo, hi) taken to EL1 (or to EL2 when `stage2`
   * with HPFAR_EL2 set by the caller).
   */
  dataAbort(lo: number, hi: number, fsc: number, write: boolean, stage2: boolean, s1ptw = false): never {
    const iss = fsc | (write ? 1 << 6 : 0) | (s1ptw ? 1 << 7 : 0);
    const toEl2 = stage2 || (this.el === 0 && this.hcrTge());
    const target = toEl2 ? 2 : 1;
    const ec = this.el === target ? EC.DABT_CUR : EC.DABT_LOWER;
    const [plo, phi] = this.insnAddr();
    takeException(this, target, 0, (ec << 26) | (1 << 25) | iss, plo, phi, true, lo, hi);
  }

  hcrTge(): boolean {
    return (this.sr[2 * SR_HCR_EL2] & (1 << 27)) !== 0;
  }

  // ---- Exceptions raised by instructions ------------------------------------

  /** Undefined Instruction (EC 0) at the current instruction. */
  undefinedInstruction(): never {
    const [plo, phi] = this.insnAddr();
    takeException(this, this.el === 0 ? 1 : this.el, 0, (EC.UNKNOWN << 26) | (1 << 25), plo, phi, false, 0, 0);
  }

  /**
   * A synchronous exception with syndrome `esr` whose preferred return address
   * is the current instruction (`retNext` false) or the next (`retNext` true:
   * SVC, HVC, SMC).
   */
  syncException(target: number, esr: number, retNext: boolean): never {
    const [plo, phi] = this.insnAddr();
    const rlo = retNext ? (plo + 4) >>> 0 : plo;
    const rhi = retNext && plo + 4 > 0xffffffff ? (phi + 1) >>> 0 : phi;
    takeException(this, target, 0, esr, rlo, rhi, false, 0, 0);
  }

  /**
   * syncException for an instruction that ends its block (HVC): the
   * exception is entered without unwinding (no throw); the run loop checks
   * exitReason after the block. The block's instructions are counted by the
   * loop, minus this one, as with a throw: an exception retires nothing.
   */
  syncExceptionAtBlockEnd(target: number, esr: number, retNext: boolean): void {
    const [plo, phi] = this.insnAddr();
    const rlo = retNext ? (plo + 4) >>> 0 : plo;
    const rhi = retNext && plo + 4 > 0xffffffff ? (phi + 1) >>> 0 : phi;
    enterException(this, target, 0, esr, rlo, rhi, false, 0, 0);
    this.icount--;
  }

  // ---- Decoded blocks ----------------------------------------------------

  /**
   * Drops the decoded blocks of every page in which [pa, pa+len) overlaps
   * decoded instructions. Stores to data that merely shares a page with code
   * (common in small programs) leave the blocks alone.
   */
  invalidateCode(pa: number, len: number): void {
    const first = pa - (pa % 4096);
    for (let page = first; page < pa + len; page += 4096) {
      const cp = this.codePages.get(page);
      if (cp === undefined) continue;
      const from = Math.max(pa, page) - page;
      const to = Math.min(pa + len, page + 4096) - page;
      let hit = false;
      for (let w = from >> 2; w < (to + 3) >> 2; w++) {
        if (cp.words[w] !== 0) {
          hit = true;
          break;
        }
      }
      if (!hit) continue;
      for (const k of cp.keys) this.dropBlock(k);
      this.codePages.delete(page);
      this.bus.codePageDropped(page);
    }
  }

  hasCodePage(page: number): boolean {
    return this.codePages.has(page);
  }

  dropWritesToPage(page: number): void {
    for (const t of this.tlbs) t.dropWritesToPage(page);
  }

  /** Instructions a block holds at most (1 while a debugger single-steps: setSingleInstructionBlocks). */
  private maxBlockInsns = 128;
  private savedJitThreshold = 0;

  /**
   * For a debugger's single step: every block is one instruction and none is
   * compiled, so that run(1) executes exactly one. The decoded code is
   * dropped on each change, so that neither mode runs the other's blocks.
   */
  setSingleInstructionBlocks(on: boolean): void {
    if (on === (this.maxBlockInsns === 1)) return;
    this.maxBlockInsns = on ? 1 : 128;
    if (on) {
      this.savedJitThreshold = this.jitThreshold;
      this.jitThreshold = Infinity;
    } else this.jitThreshold = this.savedJitThreshold;
    this.invalidateAllCode();
  }

  /** Drops every decoded block (IC IALLU and friends). */
  invalidateAllCode(): void {
    for (const b of this.blocks.values()) b.valid = false;
    this.blocks.clear();
    wasmBlocksDropped(this, null);
    const pages = [...this.codePages.keys()];
    this.codePages.clear();
    for (const page of pages) this.bus.codePageDropped(page);
  }

  private dropBlock(pa: number): void {
    const b = this.blocks.get(pa);
    if (b === undefined) return;
    b.valid = false;
    this.blocks.delete(pa);
    if (b.wasmIdx >= 0) wasmBlocksDropped(this, b);
    else if (b.wasmIdx === WASM_PENDING) b.wasmIdx = -1;
  }

  /** Fetches and decodes the block at the current PC. Raises instruction aborts. */
  private lookupBlock(): Block {
    const lo = this.pcLo, hi = this.pcHi;
    const t = this.tlb;
    const i = (lo >>> 12) & TLB_MASK;
    let pa: number;
    if (lo & 3) this.pcAlignmentFault(); // PC alignment is checked on every fetch, TLB hit or miss
    if (t.xTag[i] === ((lo >>> 12) | (hi << 20)) && t.xTagHi[i] === hi >>> 12) {
      pa = t.pa[i] + (lo & 0xfff);
    } else {
      if (lo & 3) this.pcAlignmentFault();
      pa = translate(this, lo, hi, Access.Exec);
      const r = this.bus.findRam(pa);
      if (r === null) this.instructionAbort(lo, hi, FSC.SYNC_EXTERNAL);
      // Fill for execution only: an instruction fetch's memory type (Normal even with stage 1 off) is not the data accesses' one.
      if (this.lastXlPerms & 4) this.fillTlb(lo, hi, pa, r, 4);
    }
    return this.blockAt(pa);
  }

  /** The valid decoded block at physical address `pa`, decoding it if needed. */
  private blockAt(pa: number): Block {
    const slot = (pa >>> 2) & (BLOCK_CACHE_SIZE - 1);
    const c = this.blockCache[slot];
    if (c !== null && c.pa === pa && c.valid) return c;
    const b = this.blocks.get(pa) ?? this.decodeBlock(pa);
    this.blockCache[slot] = b;
    return b;
  }

  private pcAlignmentFault(): never {
    // PC alignment fault (EC 0x22): FAR holds the faulting PC; ELR too.
    const target = this.el === 0 && this.hcrTge() ? 2 : Math.max(this.el, 1);
    takeException(this, target, 0, (EC.PC_ALIGN << 26) | (1 << 25), this.pcLo, this.pcHi, true, this.pcLo, this.pcHi);
  }

  instructionAbort(lo: number, hi: number, fsc: number, stage2 = false, s1ptw = false): never {
    const target = stage2 || (this.el === 0 && this.hcrTge()) ? 2 : 1;
    const ec = this.el === target ? EC.IABT_CUR : EC.IABT_LOWER;
    takeException(this, target, 0, (ec << 26) | (1 << 25) | fsc | (s1ptw ? 1 << 7 : 0), lo, hi, true, lo, hi);
  }

  /**
   * Decodes the block at `pa`: up to a branch, an instruction that ends
   * blocks, the page end or 128 instructions. A superblock (for a hot block
   * about to be compiled, replacing `old`) goes on past conditional branches
   * (InsnFlags.CondBranch), up to SUPERBLOCK_MAX instructions.
   */
  private decodeBlock(pa: number, superblock = false, old: Block | null = null): Block {
    const r = this.bus.findRam(pa)!;
    const ops: Op[] = [];
    const page = pa - (pa % 4096);
    let off = pa % 4096;
    let lastFlags = 0;
    const maxOps = superblock ? SUPERBLOCK_MAX : this.maxBlockInsns;
    while (off < 4096 && ops.length < maxOps) {
      const word = r.view.getInt32(pa - r.base + (off - (pa % 4096)), true);
      const d = this.decoder.decode(word);
      if (d === null) {
        ops.push(UNDEF_OP);
        lastFlags = 0;
        break;
      }
      ops.push(d.c.def.build(d.fields, { off, word }));
      off += 4;
      lastFlags = d.c.def.flags ?? 0;
      if (lastFlags & (InsnFlags.EndsBlock | InsnFlags.Branch) && !(superblock && lastFlags & InsnFlags.CondBranch)) break;
      if (pa - r.base + (off - (pa % 4096)) >= r.size) break;
    }
    const block: Block = { ops, pa, n: ops.length, endsInCondBranch: (lastFlags & InsnFlags.CondBranch) !== 0, superblock, noWasm: false, wasmIdx: -1, valid: true, s0: null, s1: null, hits: old?.hits ?? 0, fn: null, compiled: false };
    this.blocks.set(pa, block);
    if (old !== null) {
      old.valid = false;
      this.blockCache[(pa >>> 2) & (BLOCK_CACHE_SIZE - 1)] = block;
    }
    let cp = this.codePages.get(page);
    if (cp === undefined) {
      cp = { keys: new Set<number>(), words: new Uint8Array(1024) };
      this.codePages.set(page, cp);
      this.bus.addCodePage(page);
    }
    cp.keys.add(pa);
    cp.words.fill(1, (pa % 4096) >> 2, ((pa % 4096) >> 2) + ops.length);
    return block;
  }

  // ---- Running -----------------------------------------------------------

  requestStop(): void {
    this.stopRequested = true;
  }

  /**
   * Runs until `budget` instructions retire, an exception is taken to EL2,
   * the PE waits for an interrupt, or a stop is requested.
   */
  run(budget: number): RunExit {
    let end = this.icount + budget;
    this.exitReason = RunExit.Budget;
    this.stopRequested = false;
    for (;;) {
      try {
        this.runBlocks(end);
        return this.exitReason;
      } catch (e) {
        if (e !== ExceptionTaken) throw e;
        this.icount += this.opIndex;
        if (this.exitReason !== RunExit.Budget) return this.exitReason;
        // An exception retires nothing; charge it to the budget so that a
        // guest stuck in a loop of faults still returns control.
        end--;
      }
    }
  }

  private runBlocks(end: number): void {
    let b: Block | null = null;
    this.runEnd = end;
    while (this.icount < end) {
      this.opIndex = 0;
      if (this.irqCheck) {
        this.irqCheck = false;
        if (this.stopRequested) {
          this.exitReason = RunExit.Stopped;
          return;
        }
        this.timer.update();
        checkInterrupts(this);
        if (this.exitReason !== RunExit.Budget) return;
        if (this.waiting) {
          this.exitReason = RunExit.Wfi;
          return;
        }
      }
      const lo = this.pcLo;
      let nb: Block;
      // Direct chaining: the next block starts in the page the last one ran from.
      if (b !== null && this.chainOk && this.pcHi === this.blockHi && ((lo ^ this.blockLo) & 0xfffff003) === 0) {
        const pa: number = b.pa - (this.blockLo & 0xfff) + (lo & 0xfff);
        const s0: Block | null = b.s0;
        if (s0 !== null && s0.pa === pa && s0.valid) nb = s0;
        else {
          const s1: Block | null = b.s1;
          if (s1 !== null && s1.pa === pa && s1.valid) nb = s1;
          else {
            nb = this.blockAt(pa);
            b.s1 = s0;
            b.s0 = nb;
          }
        }
      } else {
        nb = this.lookupBlock();
        this.chainOk = true;
      }
      b = nb;
      if (!b.compiled && ++b.hits > this.jitThreshold) b = this.tierUp(b);
      const fn = b.fn;
      let ops = b.ops;
      let n = b.n;
      this.blockLo = lo;
      this.blockHi = this.pcHi;
      // Fall-through PC; a branch overwrites it.
      const next = lo + 4 * n;
      this.pcLo = next >>> 0;
      if (next > 0xffffffff) this.pcHi = (this.pcHi + 1) >>> 0;
      if (this.onBlock !== null) this.onBlock(this, b);
      // (The count is computed before it is added: an op may itself adjust icount, see syncExceptionAtBlockEnd.)
      let retired: number;
      if (fn !== null) {
        const r = fn(this);
        const last = this.chained;
        if (last !== null) {
          // WebAssembly blocks ran one into the next (jit/wasm/compile.ts): the result is the last one's.
          this.chained = null;
          b = last;
          ops = b.ops;
          n = b.n;
        }
        retired = r === undefined ? n : r < 0 ? -r : this.runOps(ops, n, r);
      } else retired = this.runOps(ops, n, 0);
      this.icount += retired;
      // An exception taken to EL2 by the block's last instruction without a throw (syncExceptionAtBlockEnd).
      if (this.exitReason !== RunExit.Budget) return;
      if (this.timer.deadline <= this.icount) this.irqCheck = true;
    }
    this.exitReason = RunExit.Budget;
  }

  /**
   * A block ran more than jitThreshold times: it is compiled, as a
   * superblock (going on past conditional branches) when it ends in one.
   * With the WebAssembly tier, to WebAssembly (jit/wasm/compile.ts); a block
   * that tier cannot take waits for jsThreshold runs and is compiled to
   * JavaScript source (jit/compile.ts). Returns the block to run (the superblock).
   */
  private tierUp(b: Block): Block {
    if (b.noWasm && b.hits <= this.jsThreshold) return b;
    if (b.wasmIdx === WASM_PENDING) {
      // Written and waiting for its batch: a block this hot does not wait any longer.
      if (b.hits > 2 * this.jitThreshold + 64) flushWasmBlocks(this);
      return b;
    }
    if (b.endsInCondBranch && !b.superblock) b = this.decodeBlock(b.pa, true, b);
    if (this.wasmTier && !b.noWasm) {
      if (queueWasmBlock(this, b)) return b;
      b.noWasm = true;
      if (b.hits <= this.jsThreshold) return b;
    }
    b.fn = compileBlock(this, b);
    b.compiled = true;
    return b;
  }

  /**
   * Runs a block's ops from instruction `from` with the closures (a cold
   * block, or the rest of one its compiled function left early). Returns the
   * number of the block's instructions retired: n, or fewer when a
   * conditional branch was taken.
   */
  private runOps(ops: Op[], n: number, from: number): number {
    for (let k = from; k < n; k++) {
      this.opIndex = k;
      ops[k](this);
      if (this.branchTaken) {
        this.branchTaken = false;
        return k + 1;
      }
    }
    return n;
  }

  /** Called by WFI/WFE: the PE sleeps until an interrupt is pending. */
  waitForInterrupt(): void {
    this.waiting = true;
    this.irqCheck = true;
  }

  /**
   * The exception return L0 performs after handling an exit: restores PSTATE
   * from SPSR_EL2 and PC from ELR_EL2.
   */
  eretFromEl2(): void {
    const spsr = this.sr[2 * SR_SPSR_EL2] >>> 0;
    this.el = 2; // the SP bank of EL2 is not used by the PE
    this.spsel = 1;
    this.setPstate(spsr & ~SPSR_M_AARCH32);
    this.branchTo(this.sr[2 * SR_ELR_EL2], this.sr[2 * SR_ELR_EL2 + 1]);
  }
}

const SR_SCTLR_EL1 = sr('SCTLR_EL1');
const SR_HCR_EL2 = sr('HCR_EL2');
const SR_TCR_EL1 = sr('TCR_EL1');
const SR_CPACR_EL1 = sr('CPACR_EL1');
const SR_CPTR_EL2 = sr('CPTR_EL2');
const SR_SPSR_EL2 = sr('SPSR_EL2');
const SR_ELR_EL2 = sr('ELR_EL2');
const TRANSLATION_REGS = new Set(['SCTLR_EL1', 'TCR_EL1', 'TTBR0_EL1', 'TTBR1_EL1', 'MAIR_EL1', 'HCR_EL2', 'VTTBR_EL2', 'VTCR_EL2'].map(sr));

/** Blocks decoded from one physical page, and which of its words they cover. */
interface CodePage {
  readonly keys: Set<number>;
  readonly words: Uint8Array;
}

const UNDEF_OP: Op = (pe) => pe.undefinedInstruction();

/** Bytes of a PE's scratch area in the host arena (jit/wasm/block.ts Scratch). */
const SCRATCH_BYTES = 64;

/** Most instructions in a superblock (decodeBlock). */
const SUPERBLOCK_MAX = 64;

/** Entries of PE.blockCache (a power of two). */
const BLOCK_CACHE_SIZE = 4096;
