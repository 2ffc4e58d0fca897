/**
 * virtio-console (virtio 1.1 section 5.3 "Console Device") with a single
 * port: receiveq0 (queue 0, host to guest) and transmitq0 (queue 1, guest to
 * host), no VIRTIO_CONSOLE_F_MULTIPORT. Offers VIRTIO_CONSOLE_F_SIZE (cols
 * and rows in config space) and VIRTIO_CONSOLE_F_EMERG_WRITE (a byte written
 * to emerg_wr at config offset 8 is output at once, even before the queues
 * are set up).
 */
import { bit, readConfigBytes, type VirtioContext, type VirtioDevice } from './mmio.js';

export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_CONSOLE_F_SIZE = 0;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2;
const RX = 0;
const TX = 1;
/** Input held while the guest has no receive buffers; beyond it the oldest bytes are dropped. */
const RX_LIMIT = 1 << 16;

export interface ConsoleOptions {
  cols?: number;
  rows?: number;
  queueSize?: number;
}

export class VirtioConsole implements VirtioDevice {
  readonly name = 'virtio-console';
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly features = bit(VIRTIO_CONSOLE_F_SIZE) | bit(VIRTIO_CONSOLE_F_EMERG_WRITE);
  readonly queueSizes: readonly number[];
  private readonly config = new Uint8Array(12);
  private ctx: VirtioContext | null = null;
  private pendingInput: number[] = [];
  /** Bytes the guest transmits. */
  onOutput: (data: Uint8Array) => void;

  constructor(onOutput: (data: Uint8Array) => void = () => {}, opts: ConsoleOptions = {}) {
    this.onOutput = onOutput;
    const qs = opts.queueSize ?? 128;
    this.queueSizes = [qs, qs];
    const dv = new DataView(this.config.buffer);
    dv.setUint16(0, opts.cols ?? 80, true);
    dv.setUint16(2, opts.rows ?? 25, true);
    dv.setUint32(4, 1, true); // max_nr_ports (meaningful with MULTIPORT only)
  }

  /** Host input for the guest; delivered as receive buffers become available. */
  input(data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (const b of bytes) this.pendingInput.push(b);
    if (this.pendingInput.length > RX_LIMIT) this.pendingInput.splice(0, this.pendingInput.length - RX_LIMIT);
    this.fillRx();
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(offset: number, _size: number, value: number): void {
    if (offset === 8) this.onOutput(new Uint8Array([value & 0xff]));
  }

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.drainTx();
    this.fillRx();
  }

  reset(): void {
    this.ctx = null;
  }

  queueNotify(index: number): void {
    if (index === TX) this.drainTx();
    else if (index === RX) this.fillRx();
  }

  private drainTx(): void {
    this.ctx?.serve(TX, (c, q) => {
      const data = q.readFrom(c);
      if (data.length) this.onOutput(data);
      return 0;
    });
  }

  private fillRx(): void {
    this.ctx?.serve(RX, (c, q) => {
      if (c.writableLength === 0) return 0;
      const n = Math.min(c.writableLength, this.pendingInput.length);
      const written = q.writeTo(c, Uint8Array.from(this.pendingInput.slice(0, n)));
      this.pendingInput.splice(0, written);
      return written;
    }, () => this.pendingInput.length > 0);
  }
}
