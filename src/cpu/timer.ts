/**
 * The generic timer's counter. The system counter advances deterministically
 * with retired instructions (`ticksPerInsn`), so runs are repeatable; the
 * EL1 timers' conditions are computed from it.
 */
import type { PE } from './pe.js';

export class GenericTimer {
  /** icount at which some timer condition may change; the run loop checks interrupts when it is reached. */
  deadline = Infinity;
  /** Counter ticks per retired instruction (CNTFRQ / nominal instruction rate). */
  ticksPerInsn = 0.625;

  constructor(private readonly pe: PE) {}

  /** CNTPCT_EL0 as a JavaScript number (exact below 2^53 ticks: about 4.5 years at 62.5 MHz). */
  physicalCount(): number {
    return Math.floor(this.pe.icount * this.ticksPerInsn);
  }

  /** Recomputes the timer outputs and the next deadline. */
  update(): void {}

  sysregChanged(_id: number): void {}
}
