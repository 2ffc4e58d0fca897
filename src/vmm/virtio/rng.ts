/**
 * virtio-rng, the entropy device (virtio 1.1 section 5.4 "Entropy Device"):
 * one queue, requestq; each device-writable buffer the driver posts is filled
 * with random bytes from node:crypto.
 */
import { randomFillSync } from 'node:crypto';
import type { VirtioContext, VirtioDevice } from './mmio.js';

export const VIRTIO_ID_ENTROPY = 4;
/** Bytes given per request at most; the driver asks again for more. */
const MAX_PER_REQUEST = 64 * 1024;

export class VirtioRng implements VirtioDevice {
  readonly name = 'virtio-rng';
  readonly deviceId = VIRTIO_ID_ENTROPY;
  readonly features = 0n;
  readonly queueSizes: readonly number[] = [64];
  private ctx: VirtioContext | null = null;

  /** `fill` produces the random bytes (tests pass a deterministic one). */
  constructor(private readonly fill: (buf: Uint8Array) => void = (b) => { randomFillSync(b); }) {}

  readConfig(): number {
    return 0;
  }

  writeConfig(): void {}

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.queueNotify(0);
  }

  reset(): void {
    this.ctx = null;
  }

  queueNotify(index: number): void {
    const ctx = this.ctx;
    if (ctx === null || index !== 0) return;
    ctx.serve(0, (c, q) => {
      const buf = new Uint8Array(Math.min(c.writableLength, MAX_PER_REQUEST));
      this.fill(buf);
      return q.writeTo(c, buf);
    });
  }
}
