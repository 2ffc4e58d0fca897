/**
 * The generic timer (Arm ARM D11, "The Generic Timer in AArch64 state").
 *
 * The system counter (CNTPCT_EL0) advances either deterministically with
 * retired instructions (`ticksPerInsn` counter ticks per instruction, the
 * default, so that runs are repeatable) or with host time
 * (`performance.now()` scaled by CNTFRQ_EL0), selected by `setMode`.
 * CNTVCT_EL0 = CNTPCT_EL0 - CNTVOFF_EL2.
 *
 * Four timers compare a counter with their CVAL: the EL1 physical timer
 * (CNTP_*_EL0), the EL1 virtual timer (CNTV_*_EL0), and the EL2 physical and
 * virtual timers (CNTHP_*_EL2, CNTHV_*_EL2, which only L0 programs; the EL2
 * virtual timer compares against the virtual count with a zero offset, as
 * it does for a host at EL2). CTL and CVAL live in `pe.sr` like every
 * system register, so that a hypervisor can save and restore them; ISTATUS
 * and TVAL are computed on access.
 *
 * Each timer's output (the level of its interrupt request, ENABLE && ISTATUS
 * && !IMASK) is kept in `physOutput`, `virtOutput`, `hypPhysOutput` and
 * `hypVirtOutput`; `onChange` is called when one changes. `deadline` is the
 * instruction count at which the next output turns on; the run loop calls
 * `update()` when it is reached.
 *
 * No BigInt: counts are JavaScript numbers (exact below 2^53 ticks, about
 * 4.5 years at 62.5 MHz); 64-bit register values are handled as halves.
 */
import type { PE } from './pe.js';
import { sr } from '../arch/sysregs.js';

/** The four timers of a PE. */
export const enum TimerId {
  /** EL1 physical timer (CNTP_*_EL0), PPI INTID 30 on the virt board. */
  Phys = 0,
  /** EL1 virtual timer (CNTV_*_EL0), INTID 27. */
  Virt = 1,
  /** EL2 physical timer (CNTHP_*_EL2), INTID 26. */
  HypPhys = 2,
  /** EL2 virtual timer (CNTHV_*_EL2), INTID 28. */
  HypVirt = 3,
}

export type CounterMode = 'icount' | 'host';

/** CNTx_CTL bits. */
export const CTL_ENABLE = 1;
export const CTL_IMASK = 2;
export const CTL_ISTATUS = 4;

const TWO32 = 4294967296;
const TWO64 = 18446744073709551616;

const CTL_IDS = [sr('CNTP_CTL_EL0'), sr('CNTV_CTL_EL0'), sr('CNTHP_CTL_EL2'), sr('CNTHV_CTL_EL2')];
const CVAL_IDS = [sr('CNTP_CVAL_EL0'), sr('CNTV_CVAL_EL0'), sr('CNTHP_CVAL_EL2'), sr('CNTHV_CVAL_EL2')];
const TVAL_IDS = [sr('CNTP_TVAL_EL0'), sr('CNTV_TVAL_EL0'), sr('CNTHP_TVAL_EL2'), sr('CNTHV_TVAL_EL2')];
const SR_CNTVOFF = sr('CNTVOFF_EL2');
const SR_CNTFRQ = sr('CNTFRQ_EL0');
/** Registers whose writes can change a timer output. */
const WATCHED = new Set([...CTL_IDS, ...CVAL_IDS, ...TVAL_IDS, SR_CNTVOFF, SR_CNTFRQ]);

/** Host-time mode: how many instructions may run before the timers are looked at again. */
const HOST_POLL_INSNS = 4096;

export class GenericTimer {
  /** icount at which some timer output may turn on; the run loop calls update() when it is reached. */
  deadline = Infinity;
  /** Counter ticks per retired instruction in icount mode (CNTFRQ / nominal instruction rate). */
  ticksPerInsn = 0.625;
  /** Output levels (ENABLE && ISTATUS && !IMASK) as of the last update(). */
  physOutput = false;
  virtOutput = false;
  hypPhysOutput = false;
  hypVirtOutput = false;
  /** Called when a timer's output changes (the interrupt controller connects here). */
  onChange: ((timer: TimerId, level: boolean) => void) | null = null;

  private mode: CounterMode = 'icount';
  /** Ticks added to the counter: time skipped while the PE slept, and the adjustment that keeps the count monotonic across mode changes. */
  private skew = 0;
  /** Host-mode origin (performance.now() milliseconds). */
  private hostT0 = 0;

  constructor(private readonly pe: PE, opts: { mode?: CounterMode; ticksPerInsn?: number } = {}) {
    if (opts.ticksPerInsn !== undefined) this.ticksPerInsn = opts.ticksPerInsn;
    if (opts.mode !== undefined) this.setMode(opts.mode);
  }

  get counterMode(): CounterMode {
    return this.mode;
  }

  /** Switches between the deterministic and the host-time counter, keeping the count continuous. */
  setMode(mode: CounterMode): void {
    if (mode === this.mode) return;
    const now = this.physicalCount();
    this.mode = mode;
    this.hostT0 = performance.now();
    this.skew = 0;
    this.skew = now - this.physicalCount();
    this.update();
  }

  private frequency(): number {
    return this.pe.sr[2 * SR_CNTFRQ] >>> 0 || 62_500_000;
  }

  private countAt(icount: number): number {
    if (this.mode === 'icount') return Math.floor(icount * this.ticksPerInsn) + this.skew;
    return Math.floor(((performance.now() - this.hostT0) * this.frequency()) / 1000) + this.skew;
  }

  /** CNTPCT_EL0 as of the last block boundary (for callers outside instruction execution). */
  physicalCount(): number {
    return this.countAt(this.pe.icount);
  }

  /** CNTPCT_EL0 as seen by the instruction now executing (the count includes the instructions of the running block before it). */
  liveCount(): number {
    return this.countAt(this.pe.icount + this.pe.opIndex);
  }

  /** CNTVOFF_EL2 as a number (approximate above 2^53). */
  private voff(): number {
    return (this.pe.sr[2 * SR_CNTVOFF + 1] >>> 0) * TWO32 + (this.pe.sr[2 * SR_CNTVOFF] >>> 0);
  }

  /** The counter timer `t` compares against, as a number, from physical count `p` (the virtual count wraps modulo 2^64). */
  private counterFor(t: TimerId, p: number): number {
    if (t !== TimerId.Virt) return p;
    const v = p - this.voff();
    return v < 0 ? v + TWO64 : v;
  }

  private cval(t: TimerId): number {
    const id = CVAL_IDS[t];
    return (this.pe.sr[2 * id + 1] >>> 0) * TWO32 + (this.pe.sr[2 * id] >>> 0);
  }

  /**
   * Writes the 64-bit count of timer `t`'s counter (CNTPCT for the physical
   * timers, CNTVCT for the virtual ones) as seen by the running instruction
   * into pe.x[d], pe.x[d+1].
   */
  readCount(virtual: boolean, d: number): void {
    const p = this.liveCount();
    let lo = p % TWO32;
    let hi = (p - lo) / TWO32;
    if (virtual) {
      const s = lo - (this.pe.sr[2 * SR_CNTVOFF] >>> 0);
      const borrow = s < 0 ? 1 : 0;
      lo = s + borrow * TWO32;
      hi = hi - (this.pe.sr[2 * SR_CNTVOFF + 1] >>> 0) - borrow;
    }
    this.pe.x[d] = lo | 0;
    this.pe.x[d + 1] = hi | 0;
  }

  /** ISTATUS of timer `t` at count `p` (AArch64 timer condition: counter - CVAL >= 0, unsigned 64-bit). */
  private istatus(t: TimerId, p: number): boolean {
    return this.counterFor(t, p) >= this.cval(t);
  }

  /** CNTx_CTL as read by an instruction: ENABLE and IMASK as written, ISTATUS live. */
  readCtl(t: TimerId): number {
    const ctl = this.pe.sr[2 * CTL_IDS[t]] & (CTL_ENABLE | CTL_IMASK);
    // ISTATUS reads as 0 (UNKNOWN in the architecture) while the timer is disabled, as on common implementations and QEMU.
    if (ctl & CTL_ENABLE && this.istatus(t, this.liveCount())) return ctl | CTL_ISTATUS;
    return ctl;
  }

  writeCtl(t: TimerId, v: number): void {
    this.pe.sr[2 * CTL_IDS[t]] = v & (CTL_ENABLE | CTL_IMASK);
    this.pe.sr[2 * CTL_IDS[t] + 1] = 0;
    this.update();
  }

  writeCval(t: TimerId, lo: number, hi: number): void {
    this.pe.sr[2 * CVAL_IDS[t]] = lo;
    this.pe.sr[2 * CVAL_IDS[t] + 1] = hi;
    this.update();
  }

  /** CNTx_TVAL: the signed 32-bit view of CVAL - counter. */
  readTval(t: TimerId): number {
    const p = this.liveCount();
    const c = this.counterFor(t, p);
    // Only bits 31:0 of the difference matter, and c < 2^53 is exact, so c mod 2^32 is exact too.
    return (this.pe.sr[2 * CVAL_IDS[t]] - (c % TWO32)) | 0;
  }

  /** Writing TVAL sets CVAL = counter + SignExtend(TVAL). */
  writeTval(t: TimerId, v: number, physical = this.liveCount()): void {
    const c = this.counterFor(t, physical);
    const clo = c % TWO32;
    const chi = (c - clo) / TWO32;
    const s = clo + (v | 0);
    const lo = s >>> 0;
    const carry = Math.floor(s / TWO32);
    this.writeCval(t, lo | 0, (chi + carry) | 0);
  }

  /** Recomputes the outputs (calling onChange for each change) and the next deadline. */
  update(): void {
    const p = this.physicalCount();
    let next = Infinity;
    for (let t = 0; t < 4; t++) {
      const ctl = this.pe.sr[2 * CTL_IDS[t]];
      const enabled = (ctl & CTL_ENABLE) !== 0;
      const ist = enabled && this.istatus(t, p);
      const out = ist && (ctl & CTL_IMASK) === 0;
      if (enabled && !ist && (ctl & CTL_IMASK) === 0) next = Math.min(next, this.icountWhen(t));
      this.setOutput(t, out);
    }
    if (next !== Infinity && this.mode === 'host') next = this.pe.icount + HOST_POLL_INSNS;
    this.deadline = next;
  }

  private setOutput(t: TimerId, level: boolean): void {
    let old: boolean;
    switch (t) {
      case TimerId.Phys: old = this.physOutput; this.physOutput = level; break;
      case TimerId.Virt: old = this.virtOutput; this.virtOutput = level; break;
      case TimerId.HypPhys: old = this.hypPhysOutput; this.hypPhysOutput = level; break;
      default: old = this.hypVirtOutput; this.hypVirtOutput = level; break;
    }
    if (old !== level && this.onChange !== null) this.onChange(t, level);
  }

  /** Physical count at which timer `t`'s condition becomes true (Infinity if beyond exact range). */
  private targetCount(t: TimerId): number {
    let target = this.cval(t);
    if (t === TimerId.Virt) target += this.voff();
    return target >= 2 ** 53 ? Infinity : target;
  }

  /** The smallest icount at which timer `t`'s condition holds (icount mode). */
  private icountWhen(t: TimerId): number {
    const target = this.targetCount(t);
    if (target === Infinity) return Infinity;
    if (this.mode !== 'icount') return this.pe.icount;
    if (this.ticksPerInsn <= 0) return Infinity;
    let i = Math.max(0, Math.ceil((target - this.skew) / this.ticksPerInsn));
    while (i > 0 && this.countAt(i - 1) >= target) i--;
    while (this.countAt(i) < target) i++;
    return i;
  }

  /**
   * Counter ticks from now until the next enabled, unmasked timer fires
   * (0 if one is already asserting its output, Infinity if none is armed).
   * A caller whose PE sleeps in WFI can wait this long, or skip it.
   */
  ticksUntilNextDeadline(): number {
    const p = this.physicalCount();
    let best = Infinity;
    for (let t = 0; t < 4; t++) {
      const ctl = this.pe.sr[2 * CTL_IDS[t]];
      if ((ctl & (CTL_ENABLE | CTL_IMASK)) !== CTL_ENABLE) continue;
      best = Math.min(best, Math.max(0, this.targetCount(t) - p));
    }
    return best;
  }

  /** The instruction count at which the next timer fires in icount mode (same as `deadline`). */
  get nextDeadlineIcount(): number {
    return this.deadline;
  }

  /** Moves the counter forward by `ticks` (time passing while the PE sleeps), then updates the outputs. */
  skipTicks(ticks: number): void {
    if (ticks > 0 && ticks !== Infinity) this.skew += Math.ceil(ticks);
    this.update();
  }

  /**
   * Fast-forwards time to what the counter would read after `icount`
   * instructions (for a caller whose PE sleeps in WFI: `skipTo(deadline)`).
   * The instruction count itself is not changed.
   */
  skipTo(icount: number): void {
    if (this.mode === 'icount') {
      const ticks = this.countAt(icount) - this.physicalCount();
      if (ticks > 0) this.skew += ticks;
    }
    this.update();
  }

  /** Skips to the next timer event, if one is armed; returns false if none is. */
  skipToNextDeadline(): boolean {
    const ticks = this.ticksUntilNextDeadline();
    if (ticks === Infinity) return false;
    this.skipTicks(ticks);
    return true;
  }

  /** Called by the PE after a write to a system register through the API or an MSR. */
  sysregChanged(id: number): void {
    if (!WATCHED.has(id)) return;
    // A TVAL written through the API (pe.writeSysreg, outside instruction execution) sets CVAL from the count now.
    const t = TVAL_IDS.indexOf(id);
    if (t >= 0) this.writeTval(t, this.pe.sr[2 * id], this.physicalCount());
    else this.update();
  }

  /** Puts the counter back to zero (PE reset). */
  reset(): void {
    this.skew = 0;
    this.hostT0 = performance.now();
    this.physOutput = this.virtOutput = this.hypPhysOutput = this.hypVirtOutput = false;
    this.deadline = Infinity;
  }
}
