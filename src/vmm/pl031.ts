/**
 * ARM PrimeCell Real Time Clock (PL031), the RTC of the QEMU virt board, per
 * the PL031 Technical Reference Manual's programmer's model:
 *
 *   0x000 RTCDR   data: the current counter value in seconds (read only)
 *   0x004 RTCMR   match: RTCINTR is raised when the counter equals it
 *   0x008 RTCLR   load: sets the counter
 *   0x00c RTCCR   control: bit 0 starts the counter (reads 1 once started)
 *   0x010 RTCIMSC interrupt mask set/clear
 *   0x014 RTCRIS  raw interrupt status
 *   0x018 RTCMIS  masked interrupt status
 *   0x01c RTCICR  interrupt clear (write 1)
 *   0xfe0-0xffc   PeriphID0-3 (part 0x031, designer ARM) and PrimeCell ID
 *
 * The counter starts at the host's time (seconds since the Unix epoch, UTC)
 * and advances with `clock` (default host time), so the guest reads the
 * date it would on the host. The match interrupt is evaluated on every
 * access and by `poll()`, which the run loop calls; `secondsToMatch()` tells
 * it when the next match is due.
 */
import type { MmioDevice } from '../cpu/bus.js';

const DR = 0x00, MR = 0x04, LR = 0x08, CR = 0x0c, IMSC = 0x10, RIS = 0x14, MIS = 0x18, ICR = 0x1c;
const ID_BYTES = [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

export class Pl031 implements MmioDevice {
  readonly name = 'pl031';
  /** Counter value minus the clock's whole seconds. */
  private offset: number;
  private mr = 0;
  private imsc = 0;
  private ris = 0;
  private lastLevel = false;
  /** The last counter value the match was checked at. */
  private lastChecked: number;
  /** Interrupt line (level). */
  onInterrupt: ((level: boolean) => void) | null = null;

  /** `clock` returns seconds (fractional allowed); `start` the initial counter (default: host time). */
  constructor(private readonly clock: () => number = () => Date.now() / 1000, start = Math.floor(Date.now() / 1000)) {
    this.offset = start - Math.floor(clock());
    this.lastChecked = this.counter() - 1;
  }

  /** The current RTCDR value. */
  counter(): number {
    return (Math.floor(this.clock()) + this.offset) >>> 0;
  }

  /** Checks the match register; call periodically (or at `secondsToMatch()`). */
  poll(): void {
    const now = this.counter();
    // A match between the last check and now (the counter passed MR).
    const passed = ((this.mr - this.lastChecked) >>> 0) > 0 && ((this.mr - this.lastChecked) >>> 0) <= ((now - this.lastChecked) >>> 0);
    this.lastChecked = now;
    if (passed) {
      this.ris |= 1;
      this.update();
    }
  }

  /** Seconds until the counter reaches RTCMR, when the interrupt is unmasked; otherwise null. */
  secondsToMatch(): number | null {
    if (!(this.imsc & 1)) return null;
    return (this.mr - this.counter()) >>> 0;
  }

  read(offset: number, _size: number, _hi: { value: number }): number {
    this.poll();
    switch (offset) {
      case DR: return this.counter();
      case MR: return this.mr;
      case LR: return this.counter();
      case CR: return 1;
      case IMSC: return this.imsc;
      case RIS: return this.ris;
      case MIS: return this.ris & this.imsc;
      default:
        if (offset >= 0xfe0 && offset < 0x1000) return ID_BYTES[(offset - 0xfe0) >> 2];
        return 0;
    }
  }

  write(offset: number, _size: number, lo: number, _hi: number): void {
    this.poll();
    const v = lo >>> 0;
    switch (offset) {
      case MR:
        this.mr = v;
        this.lastChecked = this.counter();
        return;
      case LR:
        this.offset = v - Math.floor(this.clock());
        this.lastChecked = this.counter();
        return;
      case CR: return; // the counter always runs; writing 0 has no effect (TRM: cannot be stopped)
      case IMSC:
        this.imsc = v & 1;
        this.update();
        return;
      case ICR:
        this.ris &= ~(v & 1);
        this.update();
        return;
      default: return;
    }
  }

  private update(): void {
    const level = (this.ris & this.imsc) !== 0;
    if (level !== this.lastLevel) {
      this.lastLevel = level;
      this.onInterrupt?.(level);
    }
  }
}
