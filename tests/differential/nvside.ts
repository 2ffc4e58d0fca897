/**
 * The nestvisor side of the differential tests: runs a case on a PE the way
 * the harness runs it as a Linux process under QEMU, and reports the outcome
 * in the harness's terms (final registers, or the signal Linux would deliver).
 *
 * Setup: RAM at the same code and data addresses as the harness (protocol.ts);
 * the trampoline page is an exact copy of the harness's (so literal loads see
 * the same bytes). The block runs at EL0t with stage 1 on and SCTLR_EL1
 * configured like Linux's for user space (SA0 set, A clear). The identity map
 * (tests/helpers/mmu.ts, tables in their own RAM below the vectors) makes the
 * first GiB (the block, the trampoline, the data area) Normal memory that EL0
 * can read and write, as a Linux process's memory is: with the MMU off every
 * data access would be Device-nGnRnE, where any unaligned access takes an
 * Alignment fault. EL0 can execute all of it except the trampoline page
 * (UXN): the block's final branch to the epilogue then takes an instruction
 * abort there, which marks the normal end. The vector page is EL1-only
 * (AP = 00, UXN) and everything else is unmapped (Translation faults, which
 * become the same signals as the external aborts of unbacked addresses). Every
 * EL1 vector (VBAR_EL1 = VEC_BASE) is `hvc #k`, so any exception from EL0 —
 * the fetch of the epilogue that marks the normal end, or a fault — enters EL1, whose vector
 * executes HVC, and pe.run() returns RunExit.El2 (EL0 cannot execute HVC
 * itself: it is UNDEFINED there). ESR_EL1, FAR_EL1, ELR_EL1 and SPSR_EL1 then
 * tell what happened; X0..X30 are untouched by the exception entry, SP_EL0 is
 * in its bank and NZCV in SPSR_EL1.
 *
 * Signal mapping (what QEMU's linux-user delivers, which follows the kernel's
 * arm64 fault handling except for SIGILL's si_code):
 *   EC 0x00 Unknown (UNDEFINED)          SIGILL  ILL_ILLOPN (2; the kernel says ILL_ILLOPC), addr = PC
 *   EC 0x24 data abort, alignment fault  SIGBUS  BUS_ADRALN (1), addr = FAR untagged
 *   EC 0x24 data abort, other            SIGSEGV SEGV_MAPERR (1) (permission: SEGV_ACCERR 2), addr = FAR untagged
 * ("untagged": bits 63:56 replaced by copies of bit 55, as Linux reports data
 * fault addresses under TBI; TCR_EL1.TBI0 is set here as Linux sets it.)
 *   EC 0x20 instruction abort            SIGSEGV SEGV_MAPERR (1), addr = FAR (= PC)
 *   EC 0x22 PC alignment                 SIGBUS  BUS_ADRALN (1), addr = FAR (= PC)
 *   EC 0x26 SP alignment                 SIGBUS  BUS_ADRALN (1), addr = SP (QEMU does not check SP alignment)
 *   EC 0x3c BRK                          SIGTRAP TRAP_BRKPT (1), addr = PC
 * anything else is reported as `other` and counts as a mismatch.
 */
import { PhysicalBus, RamRegion } from '../../src/cpu/bus.js';
import { PE, RunExit } from '../../src/cpu/pe.js';
import { sr } from '../../src/arch/sysregs.js';
import { EC, ecName } from '../../src/arch/esr.js';
import { CODE_BASE, Case, DATA_BASE, DATA_SIZE, NREGS, Outcome, SP, TRAMP_BASE, TRAMP_EPILOGUE, Word64, codeWords } from './protocol.js';
import { enableIdentityMmu } from '../helpers/mmu.js';

/**
 * Where the PE's EL1 vector table lives: the last page below 2^48, where the
 * harness process has nothing (and cannot: QEMU's linux-user on a 64-bit x86
 * host ends guest memory at 2^47), so no generated access reaches it.
 */
export const VEC_BASE = 0xfffffffff000;
/** The PE's stage-1 translation tables (PE only, like the vectors; not mapped). */
export const PT_BASE = 0xffffffff0000;
export const PT_SIZE = 0x8000;
/** The first GiB, EL0 read/write Normal memory: CODE_BASE, TRAMP_BASE and DATA_BASE lie in it. */
const EL0_SPACE = 0x40000000;
const EPILOGUE = BigInt(TRAMP_BASE + TRAMP_EPILOGUE);
/** Instructions a case may retire before it counts as looping. */
export const BUDGET = 4096;

const hvc = (imm: number): number => (0xd4000002 | (imm << 5)) >>> 0;

// SCTLR_EL1 as Linux sets it for user space: SA0 (4), SA (3), DZE (14), UCT (15), nTWI (16), nTWE (18), UCI (26); M is set by enableIdentityMmu.
const SCTLR_LINUX_BITS = (1 << 4) | (1 << 3) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 18) | (1 << 26);

const ESR_EL1 = sr('ESR_EL1');
const ELR_EL1 = sr('ELR_EL1');
const FAR_EL1 = sr('FAR_EL1');
const SPSR_EL1 = sr('SPSR_EL1');
const ESR_EL2 = sr('ESR_EL2');

export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGBUS = 7;
export const SIGSEGV = 11;

const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

export class NvSide {
  readonly bus = new PhysicalBus({ arenaRam: 0x4000 + DATA_SIZE });
  readonly pe: PE;
  readonly code: RamRegion;
  readonly data: RamRegion;
  private readonly data32: Uint32Array;
  private pristine32: Uint32Array = new Uint32Array(DATA_SIZE / 4);
  private readonly page = new Uint8Array(4096);
  private readonly pageView = new DataView(this.page.buffer);
  private lastWords = 0;

  /** `tramp`: the harness's trampoline page (from its hello record); zeros if unknown. */
  constructor(tramp: Uint8Array = new Uint8Array(4096)) {
    this.code = this.bus.addRam(CODE_BASE, 0x2000);
    this.data = this.bus.addRam(DATA_BASE, DATA_SIZE);
    const vec = this.bus.addRam(VEC_BASE, 0x1000);
    this.data32 = new Uint32Array(this.data.bytes.buffer, this.data.bytes.byteOffset, DATA_SIZE / 4);
    for (let off = 0; off < 0x800; off += 4) vec.view.setUint32(off, hvc(off >> 7), true);
    this.bus.writeBytes(TRAMP_BASE, tramp);
    this.pe = new PE(this.bus);
    this.pe.writeSysreg('VBAR_EL1', BigInt(VEC_BASE));
    this.pe.writeSysreg('SCTLR_EL1', this.pe.readSysreg('SCTLR_EL1') | BigInt(SCTLR_LINUX_BITS));
    // Top-byte ignore for user addresses (TCR_EL1.TBI0), as Linux and QEMU's linux-user set it; TBI1 and TBID0 clear.
    this.pe.writeSysreg('TCR_EL1', this.pe.readSysreg('TCR_EL1') | (1n << 37n));
    // Stage 1 on (TCR_EL1.TBI0 and the SCTLR_EL1 bits above are kept).
    if (TRAMP_BASE + 0x1000 > EL0_SPACE || DATA_BASE + DATA_SIZE > EL0_SPACE) throw new Error('the address map outgrew the EL0 identity map');
    const pt = this.bus.addRam(PT_BASE, PT_SIZE);
    enableIdentityMmu(this.pe, { ram: pt, base: PT_BASE, size: PT_SIZE }, [
      { va: 0, size: TRAMP_BASE, el0: true },
      { va: TRAMP_BASE, size: 0x1000, el0: true, uxn: true }, // reaching the epilogue is an instruction abort
      { va: TRAMP_BASE + 0x1000, size: DATA_BASE - TRAMP_BASE - 0x1000, el0: true },
      // The data area is not executable, as the harness maps it under qemu-aarch64 (PROT_READ|PROT_WRITE):
      // a BR into it is a Permission fault (SIGSEGV, SEGV_ACCERR) on both.
      { va: DATA_BASE, size: DATA_SIZE, el0: true, uxn: true },
      { va: DATA_BASE + DATA_SIZE, size: EL0_SPACE - DATA_BASE - DATA_SIZE, el0: true },
      { va: VEC_BASE, size: 0x1000, uxn: true },
    ]);
  }

  /** Sets the data area's initial image for the following cases. */
  setPristine(pristine: Uint8Array): void {
    this.pristine32 = new Uint32Array(DATA_SIZE / 4);
    new Uint8Array(this.pristine32.buffer).set(pristine.subarray(0, DATA_SIZE));
    this.data32.set(this.pristine32);
  }

  /** Runs one case; the data area is back to the pristine image afterwards. */
  run(c: Case): Outcome {
    const pe = this.pe;
    const words = codeWords(c);
    const n = Math.max(words.length, this.lastWords);
    for (let i = 0; i < n; i++) this.pageView.setUint32(4 * i, i < words.length ? words[i] : 0, true);
    this.lastWords = words.length;
    this.bus.writeBytes(CODE_BASE, this.page.subarray(0, 4 * n));
    for (const q of c.patches) {
      this.data32[q.off >> 2] = q.lo;
      this.data32[(q.off >> 2) + 1] = q.hi;
    }

    pe.exclPa = -1;
    pe.setPstate(((c.nzcv & 0xf) << 28) >>> 0); // EL0t, DAIF clear
    for (let i = 0; i < 62; i++) pe.x[i] = c.regs[i] | 0; // X0..X30
    // pe.x slot 31 is XZR, slot 32 the current SP (SP_EL0 at EL0t).
    pe.x[64] = c.regs[2 * SP] | 0;
    pe.x[65] = c.regs[2 * SP + 1] | 0;
    pe.pcLo = CODE_BASE;
    pe.pcHi = 0;

    const exit = pe.run(BUDGET);
    const out: Outcome = { sig: 0, code: 0, addr: 0n, pc: 0n, regs: new Uint32Array(2 * NREGS), nzcv: 0, diffs: this.collectDiffs() };
    if (exit !== RunExit.El2) {
      out.other = exit === RunExit.Budget ? `no exit after ${BUDGET} instructions (loop)` : `run() returned ${exit}`;
      this.readEl0Now(out);
      return out;
    }
    const esr2 = pe.getSrLo(ESR_EL2);
    if (esr2 >>> 26 !== EC.HVC64 || pe.el2Vector !== 0) {
      out.other = `exception to EL2 not from the EL1 vectors: ESR_EL2=0x${(esr2 >>> 0).toString(16)} vector=${pe.el2Vector}`;
      this.readEl0Now(out);
      return out;
    }
    const vecOff = ((esr2 & 0xffff) << 7) >>> 0;
    for (let i = 0; i < 31; i++) {
      out.regs[2 * i] = pe.x[2 * i] >>> 0;
      out.regs[2 * i + 1] = pe.x[2 * i + 1] >>> 0;
    }
    out.regs[2 * SP] = pe.spBank[0] >>> 0;
    out.regs[2 * SP + 1] = pe.spBank[1] >>> 0;
    out.nzcv = pe.getSrLo(SPSR_EL1) >>> 28;
    if (vecOff !== 0x400) {
      out.other = `exception taken to EL1 vector 0x${vecOff.toString(16)} (expected 0x400, synchronous from EL0)`;
      return out;
    }
    const esr = pe.getSrLo(ESR_EL1) >>> 0;
    const ec = esr >>> 26;
    const elr = u64(pe.getSrLo(ELR_EL1), pe.getSrHi(ELR_EL1));
    const far = u64(pe.getSrLo(FAR_EL1), pe.getSrHi(FAR_EL1));
    const fsc = esr & 0x3f;
    switch (ec) {
      case EC.UNKNOWN:
        return fault(out, SIGILL, 2, elr, elr);
      case EC.DABT_LOWER: {
        // Linux reports data-abort addresses untagged (bits 63:56 from bit 55) unless SA_EXPOSE_TAGBITS.
        const addr = BigInt.asUintN(64, BigInt.asIntN(56, far));
        if (fsc === 0x21) return fault(out, SIGBUS, 1, addr, elr);
        if ((fsc & 0x3c) === 0x0c) return fault(out, SIGSEGV, 2, addr, elr);
        return fault(out, SIGSEGV, 1, addr, elr);
      }
      case EC.IABT_LOWER:
        // The fetch of the epilogue (Permission fault: the trampoline page is UXN) is the normal end.
        if (elr === EPILOGUE && far === EPILOGUE && (fsc & 0x3c) === 0x0c) return out;
        return fault(out, SIGSEGV, (fsc & 0x3c) === 0x0c ? 2 : 1, far, elr);
      case EC.PC_ALIGN:
        return fault(out, SIGBUS, 1, far, elr);
      case EC.SP_ALIGN:
        return fault(out, SIGBUS, 1, u64(out.regs[2 * SP], out.regs[2 * SP + 1]), elr);
      case EC.BRK64:
        return fault(out, SIGTRAP, 1, elr, elr);
      default:
        out.other = `exception ${ecName(ec)} (ESR_EL1=0x${esr.toString(16)}, ELR_EL1=0x${elr.toString(16)}, FAR_EL1=0x${far.toString(16)})`;
        out.pc = elr;
        return out;
    }
  }

  private readEl0Now(out: Outcome): void {
    for (let i = 0; i < 31; i++) {
      out.regs[2 * i] = this.pe.x[2 * i] >>> 0;
      out.regs[2 * i + 1] = this.pe.x[2 * i + 1] >>> 0;
    }
    out.pc = this.pe.pc;
  }

  /** The 8-byte words that differ from the pristine image; restores them. */
  private collectDiffs(): Word64[] {
    const d = this.data32, p = this.pristine32;
    const diffs: Word64[] = [];
    for (let i = 0; i < d.length; i += 2) {
      if (d[i] !== p[i] || d[i + 1] !== p[i + 1]) {
        diffs.push({ off: 4 * i, lo: d[i], hi: d[i + 1] });
        d[i] = p[i];
        d[i + 1] = p[i + 1];
      }
    }
    return diffs;
  }
}

function fault(out: Outcome, sig: number, code: number, addr: bigint, pc: bigint): Outcome {
  out.sig = sig;
  out.code = code;
  out.addr = addr;
  out.pc = pc;
  return out;
}
