// Drives the virtio-mmio transport as a driver would (virtio 1.1, 3.1 device
// initialization and 2.6 split virtqueues): a fake guest memory holds the
// descriptor table and rings; the test writes registers, posts buffers,
// notifies, and checks the used ring, the data and the interrupt line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F, INT_CONFIG_CHANGE, INT_USED_BUFFER, MAGIC, REG, STATUS, VirtioMmio, bit, type GuestMemory, type VirtioDevice } from '../../src/vmm/virtio/mmio.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/vmm/virtio/queue.js';
import { SECTOR, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VirtioBlk } from '../../src/vmm/virtio/blk.js';
import { VirtioConsole } from '../../src/vmm/virtio/console.js';
import { VirtioRng } from '../../src/vmm/virtio/rng.js';
import { VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_HDR_LEN, VirtioNet } from '../../src/vmm/virtio/net.js';
import { parseMac } from '../../src/vmm/net/ethernet.js';
import type { NetBackend } from '../../src/vmm/net/backend.js';

const BASE = 0x4000_0000;

class FakeMemory implements GuestMemory {
  readonly bytes = new Uint8Array(1 << 20);
  private next = 0x1000;
  read(gpa: number, len: number): Uint8Array {
    const o = gpa - BASE;
    if (o < 0 || o + len > this.bytes.length) throw new Error(`read outside RAM at 0x${gpa.toString(16)}`);
    return this.bytes.slice(o, o + len);
  }
  write(gpa: number, data: Uint8Array): void {
    const o = gpa - BASE;
    if (o < 0 || o + data.length > this.bytes.length) throw new Error(`write outside RAM at 0x${gpa.toString(16)}`);
    this.bytes.set(data, o);
  }
  alloc(len: number, align = 16): number {
    this.next = Math.ceil(this.next / align) * align;
    const a = BASE + this.next;
    this.next += len;
    return a;
  }
  dv(gpa: number, len: number): DataView {
    return new DataView(this.bytes.buffer, gpa - BASE, len);
  }
}

interface Buf { addr: number; len: number; write?: boolean }

class Driver {
  readonly irq: boolean[] = [];
  readonly errors: string[] = [];
  readonly q: Array<{ size: number; desc: number; avail: number; used: number; nextDesc: number; availIdx: number; seenUsed: number }> = [];
  constructor(readonly dev: VirtioMmio, readonly mem: FakeMemory) {
    dev.onInterrupt = (l) => this.irq.push(l);
    dev.onError = (m) => this.errors.push(m);
  }
  r(off: number): number {
    return this.dev.read(off, 4, { value: 0 });
  }
  w(off: number, v: number): void {
    this.dev.write(off, 4, v >>> 0, 0);
  }
  deviceFeatures(): bigint {
    this.w(REG.DeviceFeaturesSel, 0);
    const lo = this.r(REG.DeviceFeatures);
    this.w(REG.DeviceFeaturesSel, 1);
    return (BigInt(this.r(REG.DeviceFeatures)) << 32n) | BigInt(lo);
  }
  /** 3.1.1 Driver Requirements: Device Initialization. Returns whether FEATURES_OK stuck. */
  init(features: bigint, queueSizes: number[]): boolean {
    this.w(REG.Status, 0);
    this.w(REG.Status, STATUS.ACKNOWLEDGE);
    this.w(REG.Status, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
    this.w(REG.DriverFeaturesSel, 0);
    this.w(REG.DriverFeatures, Number(features & 0xffffffffn));
    this.w(REG.DriverFeaturesSel, 1);
    this.w(REG.DriverFeatures, Number(features >> 32n));
    this.w(REG.Status, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
    if (!(this.r(REG.Status) & STATUS.FEATURES_OK)) return false;
    queueSizes.forEach((s, i) => this.setupQueue(i, s));
    this.w(REG.Status, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK);
    return true;
  }
  setupQueue(i: number, size: number): void {
    this.w(REG.QueueSel, i);
    assert.equal(this.r(REG.QueueReady), 0);
    assert.ok(this.r(REG.QueueNumMax) >= size);
    const desc = this.mem.alloc(16 * size, 16);
    const avail = this.mem.alloc(6 + 2 * size, 2);
    const used = this.mem.alloc(6 + 8 * size, 4);
    this.w(REG.QueueNum, size);
    this.w(REG.QueueDescLow, desc); this.w(REG.QueueDescHigh, 0);
    this.w(REG.QueueDriverLow, avail); this.w(REG.QueueDriverHigh, 0);
    this.w(REG.QueueDeviceLow, used); this.w(REG.QueueDeviceHigh, 0);
    this.w(REG.QueueReady, 1);
    this.q[i] = { size, desc, avail, used, nextDesc: 0, availIdx: 0, seenUsed: 0 };
  }
  private writeDesc(table: number, i: number, b: Buf, flags: number, next: number): void {
    const dv = this.mem.dv(table + 16 * i, 16);
    dv.setBigUint64(0, BigInt(b.addr), true);
    dv.setUint32(8, b.len, true);
    dv.setUint16(12, flags | (b.write ? VIRTQ_DESC_F_WRITE : 0), true);
    dv.setUint16(14, next, true);
  }
  /** Posts a chain (optionally through an indirect table); returns its head. */
  add(qi: number, bufs: Buf[], opts: { indirect?: boolean; notify?: boolean } = {}): number {
    const q = this.q[qi];
    const head = q.nextDesc;
    if (opts.indirect) {
      const table = this.mem.alloc(16 * bufs.length);
      bufs.forEach((b, j) => this.writeDesc(table, j, b, j + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0, j + 1));
      this.writeDesc(q.desc, head, { addr: table, len: 16 * bufs.length }, VIRTQ_DESC_F_INDIRECT, 0);
      q.nextDesc = (q.nextDesc + 1) % q.size;
    } else {
      bufs.forEach((b, j) => {
        const i = (head + j) % q.size;
        this.writeDesc(q.desc, i, b, j + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0, (i + 1) % q.size);
      });
      q.nextDesc = (q.nextDesc + bufs.length) % q.size;
    }
    const dv = this.mem.dv(q.avail, 6 + 2 * q.size);
    dv.setUint16(4 + 2 * (q.availIdx % q.size), head, true);
    q.availIdx = (q.availIdx + 1) & 0xffff;
    dv.setUint16(2, q.availIdx, true);
    if (opts.notify ?? true) this.w(REG.QueueNotify, qi);
    return head;
  }
  /** New used entries since the last call. */
  used(qi: number): Array<{ id: number; len: number }> {
    const q = this.q[qi];
    const dv = this.mem.dv(q.used, 6 + 8 * q.size);
    const idx = dv.getUint16(2, true);
    const out: Array<{ id: number; len: number }> = [];
    while (q.seenUsed !== idx) {
      const s = q.seenUsed % q.size;
      out.push({ id: dv.getUint32(4 + 8 * s, true), len: dv.getUint32(8 + 8 * s, true) });
      q.seenUsed = (q.seenUsed + 1) & 0xffff;
    }
    return out;
  }
  ack(): number {
    const s = this.r(REG.InterruptStatus);
    this.w(REG.InterruptACK, s);
    return s;
  }
}

const MODERN = bit(F.VERSION_1);

function tempDisk(bytes: number): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nestvisor-blk-'));
  const path = join(dir, 'disk.img');
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
  writeFileSync(path, data);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function blkSetup(opts: { readOnly?: boolean; eventIdx?: boolean } = {}) {
  const disk = tempDisk(64 * SECTOR);
  const blk = VirtioBlk.open(disk.path, { readOnly: opts.readOnly, id: 'serial-123' });
  const mem = new FakeMemory();
  const dev = new VirtioMmio(blk, mem, { eventIdx: opts.eventIdx });
  const drv = new Driver(dev, mem);
  return { disk, blk, mem, dev, drv, done: () => { blk.close(); disk.cleanup(); } };
}

/** Posts a block request; returns [status, used len, data buffer address]. */
function blkRequest(drv: Driver, mem: FakeMemory, type: number, sector: number, dataLen: number, opts: { outData?: Uint8Array; indirect?: boolean; split?: boolean } = {}) {
  const hdr = mem.alloc(16);
  const hv = mem.dv(hdr, 16);
  hv.setUint32(0, type, true);
  hv.setBigUint64(8, BigInt(sector), true);
  const data = mem.alloc(Math.max(dataLen, 1));
  if (opts.outData) mem.write(data, opts.outData);
  const status = mem.alloc(1, 1);
  mem.write(status, new Uint8Array([0xff]));
  const write = type !== VIRTIO_BLK_T_OUT;
  const bufs: Buf[] = [{ addr: hdr, len: 16 }];
  if (dataLen > 0) {
    if (opts.split && dataLen > 100) bufs.push({ addr: data, len: 100, write }, { addr: data + 100, len: dataLen - 100, write });
    else bufs.push({ addr: data, len: dataLen, write });
  }
  bufs.push({ addr: status, len: 1, write: true });
  drv.add(0, bufs, { indirect: opts.indirect });
  const used = drv.used(0);
  assert.equal(used.length, 1);
  return { status: mem.read(status, 1)[0], len: used[0].len, data };
}

test('virtio-mmio: identification registers and offered features', () => {
  const { drv, done } = blkSetup();
  try {
    assert.equal(drv.r(REG.MagicValue), MAGIC);
    assert.equal(drv.r(REG.Version), 2);
    assert.equal(drv.r(REG.DeviceID), 2);
    assert.notEqual(drv.r(REG.VendorID), 0);
    const f = drv.deviceFeatures();
    for (const b of [F.VERSION_1, F.RING_INDIRECT_DESC, F.RING_EVENT_IDX, BigInt(VIRTIO_BLK_F_FLUSH)]) assert.ok(f & bit(b), `feature bit ${b}`);
    assert.equal(f & bit(VIRTIO_BLK_F_RO), 0n);
    drv.w(REG.QueueSel, 0);
    assert.equal(drv.r(REG.QueueNumMax), 256);
    drv.w(REG.QueueSel, 1);
    assert.equal(drv.r(REG.QueueNumMax), 0, 'no second queue');
    // Sub-word register reads are not allowed (4.2.2.2): they read 0.
    assert.equal(drv.dev.read(REG.MagicValue, 1, { value: 0 }), 0);
  } finally {
    done();
  }
});

test('virtio-mmio: FEATURES_OK is refused without VERSION_1 or with unoffered bits', () => {
  const { drv, done } = blkSetup();
  try {
    assert.equal(drv.init(0n, [8]), false);
    assert.equal(drv.init(MODERN | bit(40), [8]), false);
    assert.equal(drv.errors.length, 2);
    assert.equal(drv.init(MODERN, [8]), true);
    assert.equal(drv.dev.negotiated, MODERN);
  } finally {
    done();
  }
});

test('virtio-blk: capacity and blk_size in config space, 64-bit access or two 32-bit reads', () => {
  const { drv, done } = blkSetup();
  try {
    assert.equal(drv.r(REG.Config), 64);
    assert.equal(drv.r(REG.Config + 4), 0);
    const hi = { value: -1 };
    assert.equal(drv.dev.read(REG.Config, 8, hi), 64);
    assert.equal(hi.value, 0);
    assert.equal(drv.r(REG.Config + 20), 512);
    assert.equal(drv.dev.read(REG.Config + 20, 2, { value: 0 }), 512);
  } finally {
    done();
  }
});

test('virtio-blk: T_IN reads sectors into split buffers; the interrupt rises and InterruptACK lowers it', () => {
  const { drv, mem, disk, done } = blkSetup();
  try {
    assert.ok(drv.init(MODERN, [16]));
    const file = readFileSync(disk.path);
    const r = blkRequest(drv, mem, VIRTIO_BLK_T_IN, 3, 2 * SECTOR, { split: true });
    assert.equal(r.status, VIRTIO_BLK_S_OK);
    assert.equal(r.len, 2 * SECTOR + 1);
    assert.deepEqual(mem.read(r.data, 2 * SECTOR), new Uint8Array(file.subarray(3 * SECTOR, 5 * SECTOR)));
    assert.deepEqual(drv.irq, [true]);
    assert.equal(drv.ack(), INT_USED_BUFFER);
    assert.deepEqual(drv.irq, [true, false]);
  } finally {
    done();
  }
});

test('virtio-blk: T_OUT reaches the file, FLUSH succeeds, GET_ID returns the serial', () => {
  const { drv, mem, disk, done } = blkSetup();
  try {
    assert.ok(drv.init(MODERN, [16]));
    const data = new Uint8Array(SECTOR * 2).map((_, i) => 255 - (i & 0xff));
    const w = blkRequest(drv, mem, VIRTIO_BLK_T_OUT, 10, data.length, { outData: data, split: true });
    assert.equal(w.status, VIRTIO_BLK_S_OK);
    assert.equal(w.len, 1);
    assert.deepEqual(new Uint8Array(readFileSync(disk.path).subarray(10 * SECTOR, 12 * SECTOR)), data);
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_FLUSH, 0, 0).status, VIRTIO_BLK_S_OK);
    const id = blkRequest(drv, mem, VIRTIO_BLK_T_GET_ID, 0, 20);
    assert.equal(id.status, VIRTIO_BLK_S_OK);
    assert.equal(new TextDecoder().decode(mem.read(id.data, 10)), 'serial-123');
  } finally {
    done();
  }
});

test('virtio-blk: out-of-range sectors, partial sectors and unknown types fail with IOERR/UNSUPP', () => {
  const { drv, mem, disk, done } = blkSetup();
  try {
    assert.ok(drv.init(MODERN, [16]));
    const before = readFileSync(disk.path);
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_IN, 63, 2 * SECTOR).status, VIRTIO_BLK_S_IOERR);
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_IN, 64, SECTOR).status, VIRTIO_BLK_S_IOERR);
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_IN, 2 ** 40, SECTOR).status, VIRTIO_BLK_S_IOERR);
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_OUT, 63, 2 * SECTOR, { outData: new Uint8Array(2 * SECTOR) }).status, VIRTIO_BLK_S_IOERR);
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_OUT, 1, 100, { outData: new Uint8Array(100) }).status, VIRTIO_BLK_S_IOERR);
    assert.equal(blkRequest(drv, mem, 99, 0, 0).status, VIRTIO_BLK_S_UNSUPP);
    assert.deepEqual(readFileSync(disk.path), before, 'failed writes leave the file untouched');
    // The last sector is readable.
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_IN, 63, SECTOR).status, VIRTIO_BLK_S_OK);
  } finally {
    done();
  }
});

test('virtio-blk: a read-only disk offers VIRTIO_BLK_F_RO and refuses writes', () => {
  const { drv, mem, disk, done } = blkSetup({ readOnly: true });
  try {
    assert.ok(drv.deviceFeatures() & bit(VIRTIO_BLK_F_RO));
    assert.ok(drv.init(MODERN | bit(VIRTIO_BLK_F_RO), [8]));
    const before = readFileSync(disk.path);
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_OUT, 0, SECTOR, { outData: new Uint8Array(SECTOR).fill(1) }).status, VIRTIO_BLK_S_IOERR);
    assert.deepEqual(readFileSync(disk.path), before);
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_IN, 0, SECTOR).status, VIRTIO_BLK_S_OK);
  } finally {
    done();
  }
});

test('virtio-blk: requests through indirect descriptors', () => {
  const { drv, mem, disk, done } = blkSetup();
  try {
    assert.ok(drv.init(MODERN | bit(F.RING_INDIRECT_DESC), [4]));
    const file = readFileSync(disk.path);
    for (let i = 0; i < 6; i++) { // more requests than the queue size: slots are reused
      const r = blkRequest(drv, mem, VIRTIO_BLK_T_IN, i, SECTOR, { indirect: true, split: true });
      assert.equal(r.status, VIRTIO_BLK_S_OK);
      assert.deepEqual(mem.read(r.data, SECTOR), new Uint8Array(file.subarray(i * SECTOR, (i + 1) * SECTOR)));
    }
  } finally {
    done();
  }
});

test('virtqueue: VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the interrupt without EVENT_IDX', () => {
  const { drv, mem, done } = blkSetup();
  try {
    assert.ok(drv.init(MODERN, [8]));
    mem.dv(drv.q[0].avail, 2).setUint16(0, 1, true);
    blkRequest(drv, mem, VIRTIO_BLK_T_IN, 0, SECTOR);
    assert.deepEqual(drv.irq, []);
  } finally {
    done();
  }
});

test('virtqueue: EVENT_IDX: used_event decides interrupts; avail_event tracks what the device took', () => {
  const { drv, mem, done } = blkSetup();
  try {
    assert.ok(drv.init(MODERN | bit(F.RING_EVENT_IDX), [8]));
    const q = drv.q[0];
    const usedEvent = (v: number) => mem.dv(q.avail + 4 + 2 * q.size, 2).setUint16(0, v, true);
    const availEvent = () => mem.dv(q.used + 4 + 8 * q.size, 2).getUint16(0, true);
    usedEvent(1); // interrupt when used idx passes 1, i.e. after the second request
    blkRequest(drv, mem, VIRTIO_BLK_T_IN, 0, SECTOR);
    assert.deepEqual(drv.irq, []);
    assert.equal(availEvent(), 1);
    blkRequest(drv, mem, VIRTIO_BLK_T_IN, 0, SECTOR);
    assert.deepEqual(drv.irq, [true]);
    assert.equal(availEvent(), 2);
    drv.ack();
    usedEvent(2);
    blkRequest(drv, mem, VIRTIO_BLK_T_IN, 0, SECTOR);
    assert.deepEqual(drv.irq, [true, false, true]);
  } finally {
    done();
  }
});

test('virtqueue: a descriptor loop marks the device DEVICE_NEEDS_RESET with a config interrupt; reset recovers', () => {
  const { drv, mem, done } = blkSetup();
  try {
    assert.ok(drv.init(MODERN, [4]));
    const q = drv.q[0];
    // Descriptor 0 -> 1 -> 0 ...
    for (const [i, next] of [[0, 1], [1, 0]]) {
      const dv = mem.dv(q.desc + 16 * i, 16);
      dv.setBigUint64(0, BigInt(mem.alloc(16)), true);
      dv.setUint32(8, 16, true);
      dv.setUint16(12, VIRTQ_DESC_F_NEXT, true);
      dv.setUint16(14, next, true);
    }
    const av = mem.dv(q.avail, 8);
    av.setUint16(4, 0, true);
    av.setUint16(2, 1, true);
    drv.w(REG.QueueNotify, 0);
    assert.ok(drv.r(REG.Status) & STATUS.DEVICE_NEEDS_RESET);
    assert.equal(drv.r(REG.InterruptStatus), INT_CONFIG_CHANGE);
    assert.match(drv.errors[0], /loop/);
    // Reset (Status = 0) clears everything; the driver can start again.
    drv.w(REG.Status, 0);
    assert.equal(drv.r(REG.Status), 0);
    assert.equal(drv.r(REG.InterruptStatus), 0);
    assert.equal(drv.irq[drv.irq.length - 1], false);
    drv.w(REG.QueueSel, 0);
    assert.equal(drv.r(REG.QueueReady), 0);
    assert.ok(drv.init(MODERN, [4]));
    assert.equal(blkRequest(drv, mem, VIRTIO_BLK_T_IN, 0, SECTOR).status, VIRTIO_BLK_S_OK);
  } finally {
    done();
  }
});

test('virtqueue: a queue size that is not a power of 2 is refused at QueueReady', () => {
  const { drv, done } = blkSetup();
  try {
    drv.w(REG.Status, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
    drv.w(REG.QueueSel, 0);
    drv.w(REG.QueueNum, 6);
    drv.w(REG.QueueReady, 1);
    assert.equal(drv.r(REG.QueueReady), 0);
    assert.ok(drv.r(REG.Status) & STATUS.DEVICE_NEEDS_RESET);
    assert.match(drv.errors[0], /size 6 is not a power of 2/);
  } finally {
    done();
  }
});

test('virtio-mmio: queue addresses read back in two halves; a ready queue ignores setup writes', () => {
  const { drv, done } = blkSetup();
  try {
    drv.w(REG.QueueSel, 0);
    drv.w(REG.QueueDescLow, 0x1234_5000);
    drv.w(REG.QueueDescHigh, 0x9);
    assert.equal(drv.r(REG.QueueDescLow), 0x1234_5000);
    assert.equal(drv.r(REG.QueueDescHigh), 0x9);
    assert.equal(drv.dev.queues[0].descAddr, 0x9_1234_5000);
    drv.w(REG.QueueNum, 8);
    drv.w(REG.QueueReady, 1);
    drv.w(REG.QueueNum, 4);
    assert.equal(drv.r(REG.QueueNum), 8);
  } finally {
    done();
  }
});

test('virtio-blk: whole-request writes: a multi-descriptor T_OUT is one positioned write, FLUSH one fsync', () => {
  // Count the device's writes and fsyncs by wrapping node:fs (named ESM imports follow syncBuiltinESMExports).
  const disk = tempDisk(16 * SECTOR);
  const fd = openSync(disk.path, 'r+');
  const realWrite = fs.writeSync;
  const realFsync = fs.fsyncSync;
  const calls: string[] = [];
  (fs as { writeSync: unknown }).writeSync = (...a: unknown[]) => { calls.push(`write ${a[3]}@${a[4]}`); return (realWrite as (...x: unknown[]) => number)(...a); };
  (fs as { fsyncSync: unknown }).fsyncSync = (f: number) => { calls.push('fsync'); realFsync(f); };
  syncBuiltinESMExports();
  try {
    const blk = new VirtioBlk(fd);
    const mem = new FakeMemory();
    const drv = new Driver(new VirtioMmio(blk, mem), mem);
    assert.ok(drv.init(MODERN, [8]));
    const data = new Uint8Array(4 * SECTOR).fill(0xab);
    const hdr = mem.alloc(16);
    mem.dv(hdr, 16).setUint32(0, VIRTIO_BLK_T_OUT, true);
    mem.dv(hdr, 16).setBigUint64(8, 2n, true);
    const parts = [0, 1, 2, 3].map(() => { const a = mem.alloc(SECTOR); mem.write(a, data.subarray(0, SECTOR)); return a; });
    const st = mem.alloc(1, 1);
    drv.add(0, [{ addr: hdr, len: 16 }, ...parts.map((a) => ({ addr: a, len: SECTOR })), { addr: st, len: 1, write: true }]);
    assert.equal(mem.read(st, 1)[0], VIRTIO_BLK_S_OK);
    assert.deepEqual(new Uint8Array(readFileSync(disk.path).subarray(2 * SECTOR, 6 * SECTOR)), data);
    const fl = mem.alloc(16);
    mem.dv(fl, 16).setUint32(0, VIRTIO_BLK_T_FLUSH, true);
    drv.add(0, [{ addr: fl, len: 16 }, { addr: st, len: 1, write: true }]);
    assert.deepEqual(calls, [`write ${4 * SECTOR}@${2 * SECTOR}`, 'fsync']);
  } finally {
    fs.writeSync = realWrite;
    fs.fsyncSync = realFsync;
    syncBuiltinESMExports();
    closeSync(fd);
    disk.cleanup();
  }
});

test('virtio-console: transmit reaches the callback; input waits for receive buffers; emergency write', () => {
  const out: number[] = [];
  const con = new VirtioConsole((d) => out.push(...d));
  const mem = new FakeMemory();
  const drv = new Driver(new VirtioMmio(con, mem), mem);
  assert.equal(drv.r(REG.DeviceID), 3);
  drv.dev.write(REG.Config + 8, 4, 0x21, 0); // emerg_wr before the driver is up
  assert.deepEqual(out, [0x21]);
  out.length = 0;
  con.input('early'); // no driver yet: held
  assert.ok(drv.init(MODERN, [8, 8]));
  const tx = mem.alloc(5);
  mem.write(tx, new TextEncoder().encode('hello'));
  drv.add(1, [{ addr: tx, len: 5 }]);
  assert.equal(new TextDecoder().decode(Uint8Array.from(out)), 'hello');
  assert.deepEqual(drv.used(1), [{ id: 0, len: 0 }]);
  const rx = mem.alloc(3);
  drv.add(0, [{ addr: rx, len: 3, write: true }]);
  assert.deepEqual(drv.used(0), [{ id: 0, len: 3 }]);
  assert.equal(new TextDecoder().decode(mem.read(rx, 3)), 'ear');
  const rx2 = mem.alloc(16);
  drv.add(0, [{ addr: rx2, len: 16, write: true }]);
  assert.deepEqual(drv.used(0), [{ id: 1, len: 2 }]);
  assert.equal(new TextDecoder().decode(mem.read(rx2, 2)), 'ly');
  // With a buffer waiting, input is delivered at once.
  const rx3 = mem.alloc(16);
  drv.add(0, [{ addr: rx3, len: 16, write: true }]);
  assert.deepEqual(drv.used(0), []);
  con.input('x\n');
  assert.deepEqual(drv.used(0), [{ id: 2, len: 2 }]);
  assert.ok(drv.irq.includes(true));
  assert.equal(drv.dev.read(REG.Config, 2, { value: 0 }), 80);
});

test('virtio-rng: writable buffers are filled from the entropy source', () => {
  let n = 0;
  const rng = new VirtioRng((b) => { for (let i = 0; i < b.length; i++) b[i] = (n++ & 0xff) | 1; });
  const mem = new FakeMemory();
  const drv = new Driver(new VirtioMmio(rng, mem), mem);
  assert.equal(drv.r(REG.DeviceID), 4);
  assert.ok(drv.init(MODERN, [8]));
  const a = mem.alloc(64);
  drv.add(0, [{ addr: a, len: 40, write: true }, { addr: a + 40, len: 24, write: true }]);
  assert.deepEqual(drv.used(0), [{ id: 0, len: 64 }]);
  assert.ok(mem.read(a, 64).every((x) => x !== 0));
  // The default source is node:crypto.
  const real = new VirtioMmio(new VirtioRng(), mem);
  const d2 = new Driver(real, mem);
  assert.ok(d2.init(MODERN, [8]));
  const b = mem.alloc(32);
  d2.add(0, [{ addr: b, len: 32, write: true }]);
  assert.equal(d2.used(0)[0].len, 32);
  assert.ok(mem.read(b, 32).some((x) => x !== 0));
});

test('virtio-mmio: a device sees DRIVER_OK once, with the negotiated features, and reset on Status 0', () => {
  const events: string[] = [];
  const dev: VirtioDevice = {
    name: 'probe', deviceId: 42, features: bit(3), queueSizes: [4],
    readConfig: () => 0, writeConfig: () => {},
    activate: (ctx) => events.push(`activate ${ctx.features.toString(16)}`),
    queueNotify: (q) => events.push(`notify ${q}`),
    reset: () => events.push('reset'),
  };
  const mem = new FakeMemory();
  const drv = new Driver(new VirtioMmio(dev, mem), mem);
  drv.w(REG.QueueNotify, 0); // before DRIVER_OK: ignored
  assert.ok(drv.init(MODERN | bit(3), [4]));
  drv.w(REG.QueueNotify, 0);
  drv.w(REG.QueueNotify, 7); // no such queue
  assert.deepEqual(events, ['reset', `activate ${(MODERN | bit(3)).toString(16)}`, 'notify 0']);
});

test('virtio-net: MAC and link status in config space; transmitted frames lose their header; received ones get num_buffers = 1', () => {
  const sent: Uint8Array[] = [];
  const backend: NetBackend = { send: (f) => sent.push(f), onReceive: null, close: () => {} };
  const mac = parseMac('52:54:00:ab:cd:ef');
  const net = new VirtioNet(backend, mac, { queueSize: 8 });
  const mem = new FakeMemory();
  const drv = new Driver(new VirtioMmio(net, mem), mem);
  assert.equal(drv.r(REG.DeviceID), 1);
  const offered = drv.deviceFeatures();
  assert.ok(offered & bit(VIRTIO_NET_F_MAC) && offered & bit(VIRTIO_NET_F_STATUS));
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => drv.dev.read(REG.Config + i, 1, { value: 0 })), [...mac]);
  assert.equal(drv.dev.read(REG.Config + 6, 2, { value: 0 }), 1, 'VIRTIO_NET_S_LINK_UP');
  backend.onReceive!(new Uint8Array(60)); // no driver yet: nobody to receive it
  assert.ok(drv.init(MODERN | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS), [8, 8]));

  // Transmit: the header and the frame in separate descriptors, as Linux posts them.
  const hdr = mem.alloc(VIRTIO_NET_HDR_LEN);
  const frame = Uint8Array.from({ length: 60 }, (_, i) => i + 1);
  const fa = mem.alloc(60);
  mem.write(fa, frame);
  drv.add(1, [{ addr: hdr, len: VIRTIO_NET_HDR_LEN }, { addr: fa, len: 60 }]);
  assert.deepEqual(sent, [frame]);
  assert.deepEqual(drv.used(1), [{ id: 0, len: 0 }]);
  drv.add(1, [{ addr: hdr, len: 8 }]); // shorter than the header: an error, not a frame
  assert.equal(sent.length, 1);
  assert.equal(net.stats.txErrors, 1);

  // Receive: held until the driver posts a buffer, then header + frame.
  const incoming = Uint8Array.from({ length: 42 }, (_, i) => 0x80 + i);
  backend.onReceive!(incoming);
  assert.equal(net.stats.rxFrames, 0);
  const rx = mem.alloc(1526);
  drv.ack(); // the transmit interrupt
  drv.irq.length = 0;
  drv.add(0, [{ addr: rx, len: 1526, write: true }]);
  assert.deepEqual(drv.used(0), [{ id: 0, len: VIRTIO_NET_HDR_LEN + 42 }]);
  const got = mem.read(rx, VIRTIO_NET_HDR_LEN + 42);
  assert.deepEqual([...got.subarray(0, VIRTIO_NET_HDR_LEN)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
  assert.deepEqual(got.subarray(VIRTIO_NET_HDR_LEN), incoming);
  assert.ok(drv.irq.includes(true));

  // A buffer too small for the frame comes back empty; the frame is dropped and counted.
  const small = mem.alloc(20);
  drv.add(0, [{ addr: small, len: 20, write: true }]);
  backend.onReceive!(incoming);
  assert.deepEqual(drv.used(0), [{ id: 1, len: 0 }]);
  assert.equal(net.stats.rxDropped, 1);

  // Without receive buffers at most 512 frames wait; the oldest go first.
  for (let k = 0; k < 600; k++) backend.onReceive!(Uint8Array.of(k & 0xff, k >> 8));
  assert.equal(net.stats.rxDropped, 1 + 88);
  const rx2 = mem.alloc(64);
  drv.add(0, [{ addr: rx2, len: 64, write: true }]);
  assert.deepEqual([...mem.read(rx2 + VIRTIO_NET_HDR_LEN, 2)], [88, 0], 'the oldest frame kept is the 89th');
});

test('ethernet: parseMac refuses what is not a unicast MAC', () => {
  assert.deepEqual([...parseMac('52:54:00:12:34:56')], [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
  assert.throws(() => parseMac('52:54:00:12:34'), /not a MAC address/);
  assert.throws(() => parseMac('01:00:5e:00:00:01'), /multicast/);
});
