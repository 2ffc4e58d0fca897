/**
 * virtio-net (virtio 1.1 section 5.1 "Network Device") with one queue pair:
 * receiveq1 (queue 0, host to guest) and transmitq1 (queue 1, guest to
 * host), no control queue, no offloads. Offers VIRTIO_NET_F_MAC (the MAC in
 * config space) and VIRTIO_NET_F_STATUS (link up).
 *
 * Every buffer starts with the 12-byte struct virtio_net_hdr of VERSION_1
 * (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset,
 * num_buffers). Without offloads a transmitted header carries nothing the
 * device needs (5.1.6.2: no NEEDS_CSUM without VIRTIO_NET_F_CSUM, no GSO
 * without the GSO features), so it is skipped; a received frame gets a
 * zero header with num_buffers = 1 (without VIRTIO_NET_F_MRG_RXBUF each
 * frame fits one buffer: 5.1.6.3.1).
 *
 * Frames go to and come from a NetBackend (vmm/net). Frames for the guest
 * wait while it has posted no receive buffers, up to a limit past which the
 * oldest are dropped (as a NIC drops on a full ring; TCP retransmits).
 */
import { bit, readConfigBytes, type VirtioContext, type VirtioDevice } from './mmio.js';
import type { NetBackend } from '../net/backend.js';

export const VIRTIO_ID_NET = 1;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_STATUS = 16;
export const VIRTIO_NET_S_LINK_UP = 1;
/** sizeof(struct virtio_net_hdr) with VIRTIO_F_VERSION_1 (num_buffers included). */
export const VIRTIO_NET_HDR_LEN = 12;
const RX = 0;
const TX = 1;
/** Frames held for the guest while it has no receive buffers. */
const RX_BACKLOG = 512;
/** Largest frame taken from the guest: 1514 bytes of Ethernet plus a VLAN tag, with room to spare. */
const MAX_TX_FRAME = 65550;

/** Counters a user can see (--stats) and tests check. */
export interface NetStats {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames for the guest dropped: backlog full, or a receive buffer too small. */
  rxDropped: number;
  /** Transmit buffers without a whole header or over the size limit. */
  txErrors: number;
}

export class VirtioNet implements VirtioDevice {
  readonly name = 'virtio-net';
  readonly deviceId = VIRTIO_ID_NET;
  readonly features = bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS);
  readonly queueSizes: readonly number[];
  readonly stats: NetStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, rxDropped: 0, txErrors: 0 };
  private readonly config = new Uint8Array(10);
  private ctx: VirtioContext | null = null;
  private readonly backlog: Uint8Array[] = [];

  constructor(readonly backend: NetBackend, readonly mac: Uint8Array, opts: { queueSize?: number } = {}) {
    const qs = opts.queueSize ?? 256;
    this.queueSizes = [qs, qs];
    this.config.set(mac.subarray(0, 6), 0);
    const dv = new DataView(this.config.buffer);
    dv.setUint16(6, VIRTIO_NET_S_LINK_UP, true);
    dv.setUint16(8, 1, true); // max_virtqueue_pairs (meaningful with VIRTIO_NET_F_MQ only)
    backend.onReceive = (frame) => this.receive(frame);
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  /** The MAC is writable only with VIRTIO_NET_F_CTRL_MAC_ADDR (not offered); status is read-only. */
  writeConfig(): void {}

  activate(ctx: VirtioContext): void {
    this.ctx = ctx;
    this.drainTx();
    this.fillRx();
  }

  reset(): void {
    this.ctx = null;
    this.backlog.length = 0;
  }

  queueNotify(index: number): void {
    if (index === TX) this.drainTx();
    else if (index === RX) this.fillRx();
  }

  /** A frame from the backend for the guest (dropped while the driver is not running: no link partner). */
  receive(frame: Uint8Array): void {
    if (this.ctx === null) return;
    this.backlog.push(frame);
    if (this.backlog.length > RX_BACKLOG) {
      this.backlog.shift();
      this.stats.rxDropped++;
    }
    this.fillRx();
  }

  private drainTx(): void {
    this.ctx?.serve(TX, (c, q) => {
      if (c.readableLength < VIRTIO_NET_HDR_LEN || c.readableLength > VIRTIO_NET_HDR_LEN + MAX_TX_FRAME) {
        this.stats.txErrors++;
        return 0;
      }
      const frame = q.readFrom(c, VIRTIO_NET_HDR_LEN);
      this.stats.txFrames++;
      this.stats.txBytes += frame.length;
      this.backend.send(frame);
      return 0;
    });
  }

  private fillRx(): void {
    this.ctx?.serve(RX, (c, q) => {
      const frame = this.backlog.shift()!;
      const buf = new Uint8Array(VIRTIO_NET_HDR_LEN + frame.length);
      buf[10] = 1; // num_buffers
      buf.set(frame, VIRTIO_NET_HDR_LEN);
      if (c.writableLength < buf.length) {
        // Too small for the frame: returned unused (length 0), the frame is lost.
        this.stats.rxDropped++;
        return 0;
      }
      this.stats.rxFrames++;
      this.stats.rxBytes += frame.length;
      return q.writeTo(c, buf);
    }, () => this.backlog.length > 0);
  }
}
