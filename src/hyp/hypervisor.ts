/**
 * The hypervisor (L0): owns the host machine, i.e. the physical bus that all
 * host PEs share, the hyp page pool (a RAM region at a host physical address
 * of L0's choosing, managed by the buddy allocator), the host physical address
 * space where VM memory slots are placed, and the VMID space; creates VMs.
 *
 * Host physical layout (all above what any guest sees, all reachable only
 * through stage 2, which L0 alone writes):
 *   pool: 0x1_0000_0000 + poolSize (default 16 MiB)
 *   slots: from 2^(paBits-1) up, each placed so that hpa = gpa (mod 1 GiB).
 */
import { PhysicalBus } from '../cpu/bus.js';
import { CpuFeatures, cpuModel, defaultFeatures, idRegisters } from '../cpu/features.js';
import { HypError } from './errors.js';
import { HypPool, PAGE_SIZE } from './mm/buddy.js';
import { VmidAllocator } from './mm/stage2.js';
import { VmAttr, resolveAttrs } from './attrs.js';
import { Vm } from './vm.js';

export interface HypervisorOptions {
  /** The host PE: a model name or features (default: nestvisor's default PE). */
  readonly cpu?: string | Partial<CpuFeatures>;
  /** Bytes of hyp pool (default 16 MiB, a multiple of 4 KiB). */
  readonly poolSize?: number;
  /** Host physical address of the pool (default 0x1_0000_0000). */
  readonly poolBase?: number;
  /** Use an existing bus (default: a new one). */
  readonly bus?: PhysicalBus;
}

const GIB = 2 ** 30;
/** Default size of the hyp pool (HypervisorOptions.poolSize). */
export const HYP_POOL_BYTES = 16 * 1024 * 1024;

export class Hypervisor {
  readonly bus: PhysicalBus;
  readonly pool: HypPool;
  readonly features: CpuFeatures;
  readonly vmidBits: 8 | 16;
  private readonly vmids: VmidAllocator;
  private readonly vms = new Set<Vm>();
  private nextVmId = 1;
  /** Host physical ranges given to memory slots: start -> end. */
  private readonly hostRanges = new Map<number, number>();
  private readonly slotAreaBase: number;
  private readonly slotAreaEnd: number;

  constructor(opts: HypervisorOptions = {}) {
    if (opts.cpu === undefined) this.features = defaultFeatures();
    else if (typeof opts.cpu === 'string') {
      try {
        this.features = cpuModel(opts.cpu);
      } catch (e) {
        throw new HypError((e as Error).message);
      }
    } else {
      const f = { ...defaultFeatures(), ...opts.cpu };
      const { idRegs: _i, ...flags } = f;
      try {
        this.features = { ...f, idRegs: opts.cpu.idRegs ?? idRegisters(flags) };
      } catch (e) {
        throw new HypError((e as Error).message);
      }
    }
    const pa = this.features.paBits;
    if (pa < 36) throw new HypError(`host physical address size ${pa} bits is too small for the hypervisor (at least 36)`);
    this.bus = opts.bus ?? new PhysicalBus();
    const poolSize = opts.poolSize ?? HYP_POOL_BYTES;
    const poolBase = opts.poolBase ?? 0x1_0000_0000;
    if (!Number.isSafeInteger(poolSize) || poolSize <= 0 || poolSize % PAGE_SIZE !== 0) throw new HypError(`poolSize ${String(poolSize)} is not a positive multiple of 4 KiB`);
    this.slotAreaBase = 2 ** (pa - 1);
    this.slotAreaEnd = 2 ** pa;
    if (!Number.isSafeInteger(poolBase) || poolBase % PAGE_SIZE !== 0 || poolBase + poolSize > this.slotAreaBase) {
      throw new HypError(`poolBase 0x${poolBase.toString(16)} must be 4 KiB aligned with the pool below 0x${this.slotAreaBase.toString(16)}`);
    }
    const bytes = this.bus.allocRam(poolSize);
    try {
      this.bus.addRam(poolBase, bytes);
    } catch (e) {
      throw new HypError(`hyp pool: ${(e as Error).message}`);
    }
    this.pool = new HypPool(poolBase, bytes);
    // ID_AA64MMFR1_EL1.VMIDBits (bits 7:4): 2 = 16 bits.
    const mmfr1 = this.features.idRegs.ID_AA64MMFR1_EL1?.[0] ?? 0;
    this.vmidBits = ((mmfr1 >>> 4) & 0xf) === 2 ? 16 : 8;
    this.vmids = new VmidAllocator(this.vmidBits);
  }

  /** Creates a VM from typed attributes (see VmAttr and docs/hyp-api.md). */
  createVm(attrs: readonly VmAttr[] = []): Vm {
    const config = resolveAttrs(attrs, this.features);
    const vmid = this.vmids.alloc();
    let vm: Vm;
    try {
      vm = new Vm(this, this.nextVmId++, vmid, config);
    } catch (e) {
      this.vmids.free(vmid);
      throw e;
    }
    this.vms.add(vm);
    return vm;
  }

  /** Live VMs. */
  get vmCount(): number {
    return this.vms.size;
  }

  /** Called by vm.destroy(). */
  vmDestroyed(vm: Vm): void {
    if (this.vms.delete(vm)) this.vmids.free(vm.vmid);
  }

  /** A host physical range of `size` bytes for a slot at `gpa`, congruent with gpa modulo 1 GiB. */
  allocHostRange(size: number, gpa: number): number {
    const off = gpa % GIB;
    let base = this.slotAreaBase + off;
    const used = [...this.hostRanges].sort((a, b) => a[0] - b[0]);
    for (;;) {
      const clash = used.find(([s, e]) => base < e && s < base + size);
      if (clash === undefined) break;
      base = Math.ceil((clash[1] - off) / GIB) * GIB + off;
    }
    if (base + size > this.slotAreaEnd) throw new HypError(`no host physical space left for a ${size}-byte slot`);
    this.hostRanges.set(base, base + size);
    return base;
  }

  freeHostRange(base: number): void {
    this.hostRanges.delete(base);
  }
}
