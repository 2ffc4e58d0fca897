/**
 * ARM PrimeCell UART (PL011), the console of the QEMU virt board: enough of
 * the programmer's model for Linux's amba-pl011 driver and for polling
 * bare-metal code (data, flags, baud/line control, interrupt mask and status,
 * and the PrimeCell identification registers).
 */
import type { MmioDevice } from '../cpu/bus.js';

const DR = 0x000, RSR = 0x004, FR = 0x018, ILPR = 0x020, IBRD = 0x024, FBRD = 0x028, LCR_H = 0x02c, CR = 0x030, IFLS = 0x034, IMSC = 0x038, RIS = 0x03c, MIS = 0x040, ICR = 0x044, DMACR = 0x048;
const FR_RXFE = 1 << 4, FR_TXFE = 1 << 7, FR_RXFF = 1 << 6;
const INT_RX = 1 << 4, INT_TX = 1 << 5, INT_RT = 1 << 6;
/** PeriphID0-3 then CellID0-3 at 0xfe0..0xffc: part 0x011, designer ARM, revision 1; PrimeCell ID B105F00D. */
/** Host input held beyond the FIFO at most (bytes); more is dropped. */
const BACKLOG_MAX = 1 << 20;
const ID_BYTES = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

export class Pl011 implements MmioDevice {
  readonly name = 'pl011';
  private readonly rx: number[] = [];
  /**
   * Host input waiting for room in the 32-byte receive FIFO: the host side
   * (a terminal, a pipe) is flow-controlled as QEMU's chardev is (it only
   * hands the UART what fits), so typed-ahead input is not lost.
   */
  private readonly backlog: number[] = [];
  private ibrd = 0;
  private fbrd = 0;
  private lcr = 0;
  private cr = 0x300;
  private ifls = 0x12;
  private imsc = 0;
  private ris = INT_TX;
  private dmacr = 0;
  private ilpr = 0;
  /** Called with each byte the guest transmits. */
  onTransmit: (byte: number) => void;
  /** Called when the interrupt output (any unmasked raw status) changes. */
  onInterrupt: ((level: boolean) => void) | null = null;

  constructor(onTransmit: (byte: number) => void = () => {}) {
    this.onTransmit = onTransmit;
  }

  /** Bytes typed by the user, delivered to the guest's receive FIFO. */
  receive(bytes: Uint8Array | number[]): void {
    for (const b of bytes) if (this.backlog.length < BACKLOG_MAX) this.backlog.push(b & 0xff);
    this.refill();
  }

  /** Bytes received from the host that the guest has not read yet (FIFO and backlog). */
  get pendingInput(): number {
    return this.rx.length + this.backlog.length;
  }

  private refill(): void {
    let moved = false;
    while (this.rx.length < 32 && this.backlog.length > 0) {
      this.rx.push(this.backlog.shift()!);
      moved = true;
    }
    if (moved) {
      this.ris |= INT_RX | INT_RT;
      this.updateIrq();
    }
  }

  read(offset: number, _size: number, _hi: { value: number }): number {
    switch (offset) {
      case DR: {
        const b = this.rx.shift();
        if (this.backlog.length > 0) this.refill();
        if (this.rx.length === 0) this.ris &= ~(INT_RX | INT_RT);
        this.updateIrq();
        return b ?? 0;
      }
      case RSR: return 0;
      case FR: return (this.rx.length === 0 ? FR_RXFE : 0) | (this.rx.length >= 32 ? FR_RXFF : 0) | FR_TXFE;
      case ILPR: return this.ilpr;
      case IBRD: return this.ibrd;
      case FBRD: return this.fbrd;
      case LCR_H: return this.lcr;
      case CR: return this.cr;
      case IFLS: return this.ifls;
      case IMSC: return this.imsc;
      case RIS: return this.ris;
      case MIS: return this.ris & this.imsc;
      case DMACR: return this.dmacr;
      default:
        if (offset >= 0xfe0 && offset < 0x1000) return ID_BYTES[(offset - 0xfe0) >> 2];
        return 0;
    }
  }

  write(offset: number, _size: number, lo: number, _hi: number): void {
    switch (offset) {
      case DR:
        this.onTransmit(lo & 0xff);
        // The transmit FIFO drains at once: TX interrupt stays raised.
        this.ris |= INT_TX;
        this.updateIrq();
        return;
      case RSR: return;
      case ILPR: this.ilpr = lo & 0xff; return;
      case IBRD: this.ibrd = lo & 0xffff; return;
      case FBRD: this.fbrd = lo & 0x3f; return;
      case LCR_H: this.lcr = lo & 0xff; return;
      case CR: this.cr = lo & 0xffff; return;
      case IFLS: this.ifls = lo & 0x3f; return;
      case IMSC: this.imsc = lo & 0x7ff; this.updateIrq(); return;
      case ICR: this.ris &= ~lo; this.updateIrq(); return;
      case DMACR: this.dmacr = lo & 7; return;
      default: return;
    }
  }

  private lastIrq = false;
  private updateIrq(): void {
    const level = (this.ris & this.imsc) !== 0;
    if (level !== this.lastIrq) {
      this.lastIrq = level;
      this.onInterrupt?.(level);
    }
  }
}
