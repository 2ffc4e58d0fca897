/** A FIFO of bytes kept as the chunks it was given (no copying until read). */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Drops `n` bytes (at most all of them) from the front. */
  consume(n: number): void {
    n = Math.min(n, this.total);
    this.total -= n;
    while (n > 0) {
      const first = this.chunks[0];
      const left = first.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** A copy of `length` bytes from `offset` (clipped to what is queued). */
  read(offset: number, length: number): Uint8Array {
    length = Math.max(0, Math.min(length, this.total - offset));
    const out = new Uint8Array(length);
    let skip = offset + this.head;
    let written = 0;
    for (const chunk of this.chunks) {
      if (written === length) break;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const n = Math.min(chunk.length - skip, length - written);
      out.set(chunk.subarray(skip, skip + n), written);
      written += n;
      skip = 0;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.total = 0;
  }
}
