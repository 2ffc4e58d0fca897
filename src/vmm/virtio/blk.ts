/**
 * virtio-blk (virtio 1.1 section 5.2 "Block Device") backed by a raw image
 * file through node:fs synchronous I/O on a file descriptor.
 *
 * - Config: capacity in 512-byte sectors, seg_max, blk_size (5.2.4).
 * - Features: VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH,
 *   and VIRTIO_BLK_F_RO for read-only images.
 * - Requests (5.2.6): a 16-byte header (type, reserved, sector), data, and a
 *   status byte in the last writable byte. T_IN, T_OUT, FLUSH, GET_ID; other
 *   types answer UNSUPP; out-of-range sectors, data lengths that are not a
 *   multiple of 512, and writes to a read-only disk answer IOERR.
 *
 * Durability: each T_OUT is gathered into one buffer and written with one
 * positioned write (retried only for a short count), so what the guest
 * wrote reaches the file request by request; FLUSH calls fsync. A host crash
 * can lose writes not yet flushed, as on real disks, but never splits a
 * request into pieces issued at different times.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { bit, readConfigBytes, type VirtioContext, type VirtioDevice } from './mmio.js';
import type { DescriptorChain } from './queue.js';

export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
export const SECTOR = 512;
const ID_BYTES = 20;

export interface BlkOptions {
  readOnly?: boolean;
  /** Serial returned by GET_ID (at most 20 bytes). */
  id?: string;
  queueSize?: number;
}

export class VirtioBlk implements VirtioDevice {
  readonly name = 'virtio-blk';
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly features: bigint;
  readonly queueSizes: readonly number[];
  readonly capacity: number;
  readonly readOnly: boolean;
  private readonly config = new Uint8Array(0x40);
  private ctx: VirtioContext | null = null;
  private readonly id: Uint8Array;
  /** Logs for errors the guest caused (malformed requests). */
  onError: ((message: string) => void) | null = null;

  /** Opens a raw image file (read-write unless `readOnly`). */
  static open(path: string, opts: BlkOptions = {}): VirtioBlk {
    const fd = openSync(path, opts.readOnly ? 'r' : 'r+');
    return new VirtioBlk(fd, opts);
  }

  /** Uses an open descriptor; the disk's size is the file's, rounded down to whole sectors. */
  constructor(readonly fd: number, opts: BlkOptions = {}) {
    this.readOnly = opts.readOnly ?? false;
    const qs = opts.queueSize ?? 256;
    this.queueSizes = [qs];
    this.capacity = Math.floor(fstatSync(fd).size / SECTOR);
    this.features = bit(VIRTIO_BLK_F_SEG_MAX) | bit(VIRTIO_BLK_F_BLK_SIZE) | bit(VIRTIO_BLK_F_FLUSH) | (this.readOnly ? bit(VIRTIO_BLK_F_RO) : 0n);
    const dv = new DataView(this.config.buffer);
    dv.setBigUint64(0, BigInt(this.capacity), true); // capacity
    dv.setUint32(8, 0, true); // size_max (no limit: feature not offered)
    dv.setUint32(12, qs - 2, true); // seg_max: room for header and status
    dv.setUint32(20, SECTOR, true); // blk_size
    this.id = new Uint8Array(ID_BYTES);
    this.id.set(new TextEncoder().encode(opts.id ?? 'nestvisor-disk').subarray(0, ID_BYTES));
  }

  close(): void {
    closeSync(this.fd);
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(): void {
    // Read-only fields (writeback is not offered).
  }

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
    ctx.serve(0, (c) => this.handle(c));
  }

  /** Runs one request; returns the number of bytes written into the chain. */
  private handle(c: DescriptorChain): number {
    const q = this.ctx!.queues[0];
    if (c.readableLength < 16 || c.writableLength < 1) {
      this.onError?.(`virtio-blk: request ${c.head} has ${c.readableLength} readable and ${c.writableLength} writable bytes (need a 16-byte header and a status byte)`);
      return 0;
    }
    const hdr = q.readFrom(c, 0, 16);
    const hv = new DataView(hdr.buffer);
    const type = hv.getUint32(0, true);
    const sector = Number(hv.getBigUint64(8, true));
    const dataIn = c.writableLength - 1; // writable bytes before the status byte
    const dataOut = c.readableLength - 16;
    const status = (s: number, written: number): number => {
      q.writeTo(c, new Uint8Array([s]), c.writableLength - 1);
      return written + 1;
    };
    const inRange = (len: number): boolean => len % SECTOR === 0 && sector <= this.capacity && len / SECTOR <= this.capacity - sector;
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        if (!inRange(dataIn)) return status(VIRTIO_BLK_S_IOERR, 0);
        const buf = new Uint8Array(dataIn);
        try {
          let done = 0;
          while (done < dataIn) {
            const n = readSync(this.fd, buf, done, dataIn - done, sector * SECTOR + done);
            if (n === 0) break; // past EOF cannot happen within capacity; zeros remain
            done += n;
          }
        } catch (e) {
          this.onError?.(`virtio-blk: read of ${dataIn} bytes at sector ${sector} failed: ${(e as Error).message}`);
          return status(VIRTIO_BLK_S_IOERR, 0);
        }
        q.writeTo(c, buf);
        return status(VIRTIO_BLK_S_OK, dataIn);
      }
      case VIRTIO_BLK_T_OUT: {
        if (this.readOnly || !inRange(dataOut)) return status(VIRTIO_BLK_S_IOERR, 0);
        const buf = q.readFrom(c, 16, dataOut);
        try {
          let done = 0;
          while (done < dataOut) done += writeSync(this.fd, buf, done, dataOut - done, sector * SECTOR + done);
        } catch (e) {
          this.onError?.(`virtio-blk: write of ${dataOut} bytes at sector ${sector} failed: ${(e as Error).message}`);
          return status(VIRTIO_BLK_S_IOERR, 0);
        }
        return status(VIRTIO_BLK_S_OK, 0);
      }
      case VIRTIO_BLK_T_FLUSH:
        try {
          fsyncSync(this.fd);
        } catch (e) {
          this.onError?.(`virtio-blk: fsync failed: ${(e as Error).message}`);
          return status(VIRTIO_BLK_S_IOERR, 0);
        }
        return status(VIRTIO_BLK_S_OK, 0);
      case VIRTIO_BLK_T_GET_ID: {
        const n = q.writeTo(c, this.id.subarray(0, Math.min(ID_BYTES, dataIn)));
        return status(VIRTIO_BLK_S_OK, n);
      }
      default:
        return status(VIRTIO_BLK_S_UNSUPP, 0);
    }
  }
}
