/**
 * The guest's console output on a file descriptor, written in batches. The
 * PL011 hands over one byte per guest store, and a write(2) per byte cost
 * more than 1% of a Linux boot. Bytes gathered while the guest runs go out
 * when the run loop next yields to the event loop (every ~25 ms of host
 * time, and whenever every vCPU idles), when 64 KiB have gathered, and at
 * the end of the run (`flush`).
 */
import { writeSync } from 'node:fs';

const FLUSH_AT = 64 * 1024;

export class BufferedOutput {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private scheduled = false;
  private failed = false;

  /** `onError`: the descriptor cannot be written (the reader went away): called once, output stops. */
  constructor(private readonly fd: number, private readonly onError: () => void) {}

  write(bytes: Uint8Array): void {
    if (this.failed) return;
    this.chunks.push(bytes);
    this.size += bytes.length;
    if (this.size >= FLUSH_AT) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.size === 0 || this.failed) return;
    const all = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.length;
    }
    this.chunks = [];
    this.size = 0;
    let done = 0;
    while (done < all.length) {
      try {
        done += writeSync(this.fd, all, done, all.length - done);
      } catch (e) {
        // A non-blocking reader that is momentarily full: try again; anything else (EPIPE) ends the output.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        this.failed = true;
        this.onError();
        return;
      }
    }
  }
}
