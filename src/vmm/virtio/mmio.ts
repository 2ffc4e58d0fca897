/**
 * The virtio-mmio transport, version 2 ("modern"), per virtio 1.1 section
 * 4.2 "Virtio Over MMIO": the register layout of 4.2.2, device status and
 * feature negotiation of 2.1 and 3.1 (device initialization), the split
 * virtqueues of 2.6, and the interrupt status bits (used buffer, configuration
 * change). Device logic lives apart from the transport (as Firecracker keeps
 * it): a `VirtioDevice` knows its ID, features, config space and queues; the
 * transport owns registers, negotiation, queue setup and the interrupt line.
 *
 * The interrupt output is a level: high while InterruptStatus is non-zero.
 * QEMU's virt board describes these interrupts as edge-rising in the device
 * tree; a rising level is the edge.
 */
import type { MmioDevice } from '../../cpu/bus.js';
import { Virtqueue, VirtqueueError, type DescriptorChain, type GuestMemory } from './queue.js';

export { Virtqueue, VirtqueueError, type GuestMemory, type DescriptorChain } from './queue.js';

export const REG = {
  MagicValue: 0x000,
  Version: 0x004,
  DeviceID: 0x008,
  VendorID: 0x00c,
  DeviceFeatures: 0x010,
  DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020,
  DriverFeaturesSel: 0x024,
  QueueSel: 0x030,
  QueueNumMax: 0x034,
  QueueNum: 0x038,
  QueueReady: 0x044,
  QueueNotify: 0x050,
  InterruptStatus: 0x060,
  InterruptACK: 0x064,
  Status: 0x070,
  QueueDescLow: 0x080,
  QueueDescHigh: 0x084,
  QueueDriverLow: 0x090,
  QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0,
  QueueDeviceHigh: 0x0a4,
  ConfigGeneration: 0x0fc,
  Config: 0x100,
} as const;

export const MAGIC = 0x74726976; // "virt"
export const VENDOR_ID = 0x7473656e; // "nest"

/** Device status bits (2.1). */
export const STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** Reserved feature bits (6 "Reserved Feature Bits"). */
export const F = {
  RING_INDIRECT_DESC: 28n,
  RING_EVENT_IDX: 29n,
  VERSION_1: 32n,
} as const;

export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

export const bit = (n: bigint | number): bigint => 1n << BigInt(n);

/** What a device gets when the driver sets DRIVER_OK. */
export interface VirtioContext {
  readonly mem: GuestMemory;
  readonly queues: readonly Virtqueue[];
  /** The features the driver accepted. */
  readonly features: bigint;
  /** Call after pushing used buffers on `queue`: interrupts the driver if it asked for it. */
  signalUsed(queue: number): void;
  /**
   * The loop of every device: while `more()` (default: always) and the driver
   * has made a chain available on `queue`, gives it to `handle`, which
   * returns how many bytes it wrote into it; each chain goes back to the used
   * ring, and the driver is interrupted once at the end if it asked for it.
   */
  serve(queue: number, handle: (chain: DescriptorChain, q: Virtqueue) => number, more?: () => boolean): void;
  /** The device's config space changed (ConfigGeneration moves, config interrupt). */
  configChanged(): void;
  /** Unrecoverable device error: sets DEVICE_NEEDS_RESET and tells the driver. */
  fail(message: string): void;
}

export interface VirtioDevice {
  readonly name: string;
  /** Device ID (5 "Device Types"): 2 block, 3 console, 4 entropy. */
  readonly deviceId: number;
  /** Device-specific feature bits offered (the transport adds VERSION_1 and the ring features). */
  readonly features: bigint;
  /** Maximum size of each virtqueue. */
  readonly queueSizes: readonly number[];
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, size: number, value: number): void;
  /** DRIVER_OK: the queues are set up; the device may use them from now on. */
  activate(ctx: VirtioContext): void;
  /** The driver notified `queue` (QueueNotify). */
  queueNotify(queue: number): void;
  /** Device reset (Status written 0): forget the context and any in-flight state. */
  reset(): void;
}

export interface VirtioMmioOptions {
  /** Offer VIRTIO_F_EVENT_IDX (default true). */
  eventIdx?: boolean;
  vendorId?: number;
}

export class VirtioMmio implements MmioDevice {
  readonly name: string;
  readonly queues: Virtqueue[];
  private readonly offered: bigint;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private queueSel = 0;
  status = 0;
  interruptStatus = 0;
  private configGeneration = 0;
  private active = false;
  private lastLevel = false;
  private readonly vendorId: number;
  /** Interrupt line (level). */
  onInterrupt: ((level: boolean) => void) | null = null;
  /** Reports device errors (malformed rings, bad setup) for logs. */
  onError: ((message: string) => void) | null = null;

  constructor(readonly device: VirtioDevice, private readonly mem: GuestMemory, opts: VirtioMmioOptions = {}) {
    this.name = `virtio-mmio:${device.name}`;
    this.queues = device.queueSizes.map((n, i) => new Virtqueue(i, n, mem));
    this.offered = device.features | bit(F.VERSION_1) | bit(F.RING_INDIRECT_DESC) | ((opts.eventIdx ?? true) ? bit(F.RING_EVENT_IDX) : 0n);
    this.vendorId = opts.vendorId ?? VENDOR_ID;
  }

  /** The features the driver accepted (valid once FEATURES_OK is set). */
  get negotiated(): bigint {
    return this.driverFeatures;
  }

  read(offset: number, size: number, hi: { value: number }): number {
    if (offset >= REG.Config) {
      const o = offset - REG.Config;
      if (size === 8) {
        hi.value = this.device.readConfig(o + 4, 4) >>> 0;
        return this.device.readConfig(o, 4) >>> 0;
      }
      return this.device.readConfig(o, size) >>> 0;
    }
    // 4.2.2.2: the driver uses only 32-bit aligned accesses to registers.
    if (size !== 4) return 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case REG.MagicValue: return MAGIC;
      case REG.Version: return 2;
      case REG.DeviceID: return this.device.deviceId;
      case REG.VendorID: return this.vendorId;
      case REG.DeviceFeatures:
        return this.deviceFeaturesSel > 1 ? 0 : Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffffffffn);
      case REG.QueueNumMax: return q ? q.maxSize : 0;
      case REG.QueueNum: return q ? q.size : 0;
      case REG.QueueReady: return q?.ready ? 1 : 0;
      case REG.InterruptStatus: return this.interruptStatus;
      case REG.Status: return this.status;
      case REG.QueueDescLow: return q ? q.descAddr >>> 0 : 0;
      case REG.QueueDescHigh: return q ? Math.floor(q.descAddr / 2 ** 32) : 0;
      case REG.QueueDriverLow: return q ? q.driverAddr >>> 0 : 0;
      case REG.QueueDriverHigh: return q ? Math.floor(q.driverAddr / 2 ** 32) : 0;
      case REG.QueueDeviceLow: return q ? q.deviceAddr >>> 0 : 0;
      case REG.QueueDeviceHigh: return q ? Math.floor(q.deviceAddr / 2 ** 32) : 0;
      case REG.ConfigGeneration: return this.configGeneration;
      default: return 0;
    }
  }

  write(offset: number, size: number, lo: number, hi: number): void {
    if (offset >= REG.Config) {
      const o = offset - REG.Config;
      if (size === 8) {
        this.device.writeConfig(o, 4, lo >>> 0);
        this.device.writeConfig(o + 4, 4, hi >>> 0);
      } else this.device.writeConfig(o, size, lo >>> 0);
      return;
    }
    if (size !== 4) return;
    const v = lo >>> 0;
    const q = this.queues[this.queueSel];
    // Queue registers may change only while the queue is not ready (4.2.2.3).
    const setupQueue = (f: (q: Virtqueue) => void): void => {
      if (q && !q.ready) f(q);
    };
    const low = (old: number): number => Math.floor(old / 2 ** 32) * 2 ** 32 + v;
    const high = (old: number): number => v * 2 ** 32 + (old >>> 0);
    switch (offset) {
      case REG.DeviceFeaturesSel: this.deviceFeaturesSel = v; return;
      case REG.DriverFeatures:
        if (this.status & STATUS.FEATURES_OK || this.driverFeaturesSel > 1) return;
        {
          const shift = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures = (this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(v) << shift);
        }
        return;
      case REG.DriverFeaturesSel: this.driverFeaturesSel = v; return;
      case REG.QueueSel: this.queueSel = v; return;
      case REG.QueueNum: setupQueue((x) => { x.size = v; }); return;
      case REG.QueueDescLow: setupQueue((x) => { x.descAddr = low(x.descAddr); }); return;
      case REG.QueueDescHigh: setupQueue((x) => { x.descAddr = high(x.descAddr); }); return;
      case REG.QueueDriverLow: setupQueue((x) => { x.driverAddr = low(x.driverAddr); }); return;
      case REG.QueueDriverHigh: setupQueue((x) => { x.driverAddr = high(x.driverAddr); }); return;
      case REG.QueueDeviceLow: setupQueue((x) => { x.deviceAddr = low(x.deviceAddr); }); return;
      case REG.QueueDeviceHigh: setupQueue((x) => { x.deviceAddr = high(x.deviceAddr); }); return;
      case REG.QueueReady:
        if (!q) return;
        if ((v & 1) === 0) {
          q.ready = false;
          return;
        }
        {
          const err = q.validate();
          if (err !== null) {
            this.fail(err);
            return;
          }
          q.ready = true;
        }
        return;
      case REG.QueueNotify: this.notify(v & 0xffff); return;
      case REG.InterruptACK:
        this.interruptStatus &= ~v;
        this.updateIrq();
        return;
      case REG.Status: this.writeStatus(v); return;
      default: return;
    }
  }

  private writeStatus(v: number): void {
    if (v === 0) {
      this.reset();
      return;
    }
    const rising = v & ~this.status;
    let next = v | (this.status & STATUS.DEVICE_NEEDS_RESET);
    if (rising & STATUS.FEATURES_OK) {
      // 3.1.1: the device accepts the features only if they are a subset of
      // those offered and include VERSION_1 (this is a modern-only device).
      const ok = (this.driverFeatures & ~this.offered) === 0n && (this.driverFeatures & bit(F.VERSION_1)) !== 0n;
      if (!ok) {
        next &= ~STATUS.FEATURES_OK;
        this.onError?.(`${this.device.name}: driver features 0x${this.driverFeatures.toString(16)} refused (offered 0x${this.offered.toString(16)}; VERSION_1 required)`);
      }
    }
    this.status = next;
    if (rising & STATUS.DRIVER_OK && !this.active && next & STATUS.FEATURES_OK) {
      this.active = true;
      const eventIdx = (this.driverFeatures & bit(F.RING_EVENT_IDX)) !== 0n;
      for (const q of this.queues) {
        q.eventIdx = eventIdx;
        if (q.ready) q.activate();
      }
      this.device.activate(this.context());
    }
  }

  private context(): VirtioContext {
    return {
      mem: this.mem,
      queues: this.queues,
      features: this.driverFeatures,
      signalUsed: (i) => this.signalUsed(i),
      serve: (i, handle, more) => this.serve(i, handle, more),
      configChanged: () => this.configChanged(),
      fail: (m) => this.fail(m),
    };
  }

  private notify(index: number): void {
    if (!this.active || this.status & STATUS.DEVICE_NEEDS_RESET) return;
    const q = this.queues[index];
    if (!q || !q.ready) return;
    try {
      this.device.queueNotify(index);
    } catch (e) {
      if (e instanceof VirtqueueError) this.fail(e.message);
      else throw e;
    }
  }

  private serve(index: number, handle: (chain: DescriptorChain, q: Virtqueue) => number, more: () => boolean = () => true): void {
    const q = this.queues[index];
    if (!q || !q.ready) return;
    let used = false;
    while (more()) {
      const c = q.pop();
      if (c === null) break;
      q.push(c.head, handle(c, q));
      used = true;
    }
    if (used) this.signalUsed(index);
  }

  /** Raises the used-buffer interrupt if the driver of `queue` wants one. */
  signalUsed(index: number): void {
    const q = this.queues[index];
    if (!q) return;
    if (q.needsInterrupt()) {
      this.interruptStatus |= INT_USED_BUFFER;
      this.updateIrq();
    }
  }

  /** The device's configuration changed (4.2.2: ConfigGeneration and the config-change interrupt). */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & STATUS.DRIVER_OK) {
      this.interruptStatus |= INT_CONFIG_CHANGE;
      this.updateIrq();
    }
  }

  /** 2.1.2: DEVICE_NEEDS_RESET and, once the driver is running, a config-change interrupt. */
  private fail(message: string): void {
    this.onError?.(`${this.device.name}: ${message}`);
    this.status |= STATUS.DEVICE_NEEDS_RESET;
    if (this.status & STATUS.DRIVER_OK) {
      this.interruptStatus |= INT_CONFIG_CHANGE;
      this.updateIrq();
    }
  }

  reset(): void {
    this.status = 0;
    this.active = false;
    this.driverFeatures = 0n;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    for (const q of this.queues) q.reset();
    this.device.reset();
    this.interruptStatus = 0;
    this.updateIrq();
  }

  private updateIrq(): void {
    const level = this.interruptStatus !== 0;
    if (level !== this.lastLevel) {
      this.lastLevel = level;
      this.onInterrupt?.(level);
    }
  }
}

/** Reads `size` bytes little-endian from a config-space byte array (0 beyond its end). */
export function readConfigBytes(cfg: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + (cfg[offset + i] ?? 0);
  return v >>> 0;
}
