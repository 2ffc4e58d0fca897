/**
 * VM creation attributes: a list of typed, tagged records rather than bits
 * packed into an integer (KVM's KVM_CREATE_VM type argument packs the IPA
 * size into bits [7:0], which its maintainers found hard to extend). Each
 * attribute kind appears at most once; omitted kinds take their defaults;
 * a new kind is a new union member, so existing callers keep compiling and
 * keep their meaning. Everything is validated up front with a HypError that
 * names the attribute.
 */
import type { CpuFeatures } from '../cpu/features.js';
import { cpuModel, idRegisters } from '../cpu/features.js';
import type { VirtualGic } from './vgic/types.js';
import { HypError } from './errors.js';
import { IPA_DEFAULT, IPA_MAX, IPA_MIN, paRangeEncoding } from './mm/stage2.js';

/** The CPU features a VM may choose (a subset of what the host PE offers). paBits is the IPA size (the 'ipa-bits' attribute). */
export type VmCpuFeatures = Partial<Pick<CpuFeatures, 'lse' | 'crc32' | 'fp' | 'fp16' | 'aes' | 'pmull' | 'sha1' | 'sha256' | 'pan' | 'uao' | 'midr' | 'cntfrq'>>;

/** What an irqchip factory learns about the VM it serves. */
export interface IrqchipInfo {
  readonly vcpus: number;
}

export type VmAttr =
  /** IPA (guest physical address) size in bits, 32..min(48, host PA size); default 40. */
  | { readonly kind: 'ipa-bits'; readonly bits: number }
  /** Number of vCPUs the VM may create, 1..256; default 1. */
  | { readonly kind: 'vcpus'; readonly count: number }
  /** The CPU the guest sees: a named model ('max', 'cortex-a57') and/or individual features; default: the host's. */
  | { readonly kind: 'cpu-features'; readonly model?: string; readonly features?: VmCpuFeatures }
  /** An in-kernel interrupt controller (the vGIC), or a factory for one. */
  | { readonly kind: 'irqchip'; readonly gic: VirtualGic | ((info: IrqchipInfo) => VirtualGic) }
  /** Scheduler time slice in instructions for vm.run() (default 20000). */
  | { readonly kind: 'quantum'; readonly insns: number }
  /** HVC/SMC function ids (single ids or inclusive [first, last] ranges) that exit to the VMM as 'hypercall'. */
  | { readonly kind: 'hypercalls'; readonly forward: ReadonlyArray<number | readonly [number, number]> }
  /**
   * Guest-physical ranges where the VMM has devices. When given, a guest
   * access outside memory, outside these ranges and outside the vGIC gets a
   * synchronous external abort injected by L0 instead of an 'mmio' exit.
   */
  | { readonly kind: 'mmio-ranges'; readonly ranges: ReadonlyArray<{ readonly gpa: number; readonly size: number }> };

export type VmAttrKind = VmAttr['kind'];

/** The validated configuration of a VM. */
export interface VmConfig {
  readonly ipaBits: number;
  readonly vcpus: number;
  /** Feature set of the vCPUs' PEs (paBits = the host's: stage-2 output addresses are host addresses). */
  readonly features: CpuFeatures;
  /** ID register values the guest reads (HCR_EL2.TID3 traps answered from these), by register name. */
  readonly idRegs: Readonly<Record<string, [number, number]>>;
  readonly irqchip: VmAttr & { kind: 'irqchip' } | null;
  readonly quantum: number;
  readonly forward: ReadonlyArray<readonly [number, number]>;
  readonly mmioRanges: ReadonlyArray<{ readonly gpa: number; readonly size: number }> | null;
}

const KINDS: ReadonlySet<string> = new Set(['ipa-bits', 'vcpus', 'cpu-features', 'irqchip', 'quantum', 'hypercalls', 'mmio-ranges']);
const BOOL_FEATURES = ['lse', 'crc32', 'fp', 'fp16', 'aes', 'pmull', 'sha1', 'sha256', 'pan', 'uao'] as const;
export const MAX_VCPUS = 256;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Validates `attrs` against the host's features and returns the VM's configuration. */
export function resolveAttrs(attrs: readonly VmAttr[], host: CpuFeatures): VmConfig {
  if (!Array.isArray(attrs)) throw new HypError('createVm: attributes must be an array of { kind, ... } records');
  const seen = new Map<string, VmAttr>();
  attrs.forEach((a, i) => {
    if (a === null || typeof a !== 'object' || typeof (a as { kind?: unknown }).kind !== 'string') throw new HypError(`createVm: attribute #${i} is not a { kind: string, ... } record`);
    if (!KINDS.has(a.kind)) throw new HypError(`createVm: attribute #${i} has unknown kind '${a.kind}' (known: ${[...KINDS].join(', ')})`);
    if (seen.has(a.kind)) throw new HypError(`createVm: attribute '${a.kind}' given twice`);
    seen.set(a.kind, a);
  });
  const get = <K extends VmAttrKind>(k: K): Extract<VmAttr, { kind: K }> | undefined => seen.get(k) as Extract<VmAttr, { kind: K }> | undefined;

  const maxIpa = Math.min(IPA_MAX, host.paBits);
  const ipa = get('ipa-bits');
  const ipaBits = ipa === undefined ? Math.min(IPA_DEFAULT, maxIpa) : ipa.bits;
  if (!isInt(ipaBits)) throw new HypError(`ipa-bits: ${String(ipaBits)} is not an integer`);
  if (ipaBits < IPA_MIN || ipaBits > maxIpa) {
    throw new HypError(`ipa-bits: ${ipaBits} is outside ${IPA_MIN}..${maxIpa}${ipaBits > IPA_MAX ? '' : ipaBits > host.paBits ? ` (the host's physical address size is ${host.paBits} bits)` : ''}`);
  }

  const vc = get('vcpus');
  const vcpus = vc === undefined ? 1 : vc.count;
  if (!isInt(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) throw new HypError(`vcpus: ${String(vcpus)} is not an integer in 1..${MAX_VCPUS}`);

  const q = get('quantum');
  const quantum = q === undefined ? 20_000 : q.insns;
  if (!isInt(quantum) || quantum < 1 || quantum > 1e9) throw new HypError(`quantum: ${String(quantum)} is not an instruction count in 1..1e9`);

  const irq = get('irqchip') ?? null;
  if (irq !== null && (irq.gic === null || (typeof irq.gic !== 'object' && typeof irq.gic !== 'function'))) throw new HypError('irqchip: gic must be a VirtualGic or a factory function');

  const forward: Array<readonly [number, number]> = [];
  const hc = get('hypercalls');
  if (hc !== undefined) {
    if (!Array.isArray(hc.forward)) throw new HypError('hypercalls: forward must be an array of function ids or [first, last] ranges');
    for (const f of hc.forward) {
      const [a, b] = typeof f === 'number' ? [f, f] : Array.isArray(f) && f.length === 2 ? f : [NaN, NaN];
      if (!isInt(a) || !isInt(b) || a < 0 || b > 0xffffffff || a > b) throw new HypError(`hypercalls: ${JSON.stringify(f)} is not a 32-bit function id or an ordered [first, last] range`);
      forward.push([a, b]);
    }
  }

  let mmioRanges: VmConfig['mmioRanges'] = null;
  const mr = get('mmio-ranges');
  if (mr !== undefined) {
    if (!Array.isArray(mr.ranges)) throw new HypError('mmio-ranges: ranges must be an array of { gpa, size }');
    for (const r of mr.ranges) {
      if (r === null || typeof r !== 'object' || !isInt(r.gpa) || !isInt(r.size) || r.gpa < 0 || r.size <= 0 || r.gpa + r.size > 2 ** ipaBits) {
        throw new HypError(`mmio-ranges: ${JSON.stringify(r)} is not a range inside the ${ipaBits}-bit IPA space`);
      }
    }
    mmioRanges = mr.ranges.map((r) => ({ gpa: r.gpa, size: r.size }));
  }

  const features = resolveFeatures(get('cpu-features'), host);
  const idRegs = guestIdRegs(features, ipaBits, irq !== null);
  return { ipaBits, vcpus, features, idRegs, irqchip: irq, quantum, forward, mmioRanges };
}

function resolveFeatures(attr: (VmAttr & { kind: 'cpu-features' }) | undefined, host: CpuFeatures): CpuFeatures {
  let base: Record<string, unknown> = { ...host };
  if (attr !== undefined) {
    if (attr.model !== undefined) {
      if (typeof attr.model !== 'string') throw new HypError('cpu-features: model must be a string');
      let m: CpuFeatures;
      try {
        m = cpuModel(attr.model);
      } catch (e) {
        throw new HypError(`cpu-features: ${(e as Error).message}`);
      }
      base = { ...m };
    }
    const f = attr.features ?? {};
    if (f === null || typeof f !== 'object') throw new HypError('cpu-features: features must be an object');
    for (const [k, v] of Object.entries(f)) {
      if ((BOOL_FEATURES as readonly string[]).includes(k)) {
        if (typeof v !== 'boolean') throw new HypError(`cpu-features: ${k} must be a boolean`);
        base[k] = v;
      } else if (k === 'midr' || k === 'cntfrq') {
        if (!isInt(v) || v < 0 || v > 0xffffffff || (k === 'cntfrq' && v === 0)) throw new HypError(`cpu-features: ${k} must be a 32-bit integer${k === 'cntfrq' ? ' above 0' : ''}`);
        base[k] = v;
      } else if (k === 'paBits') {
        throw new HypError("cpu-features: paBits is not a per-VM feature: the guest's physical address size is the IPA size (the 'ipa-bits' attribute)");
      } else {
        throw new HypError(`cpu-features: unknown or fixed feature '${k}' (choosable: ${[...BOOL_FEATURES, 'midr', 'cntfrq'].join(', ')})`);
      }
    }
    if (attr.model === undefined && attr.features === undefined) throw new HypError('cpu-features: give a model, features, or both');
  }
  for (const k of BOOL_FEATURES) {
    if (base[k] === true && !host[k]) throw new HypError(`cpu-features: '${k}' is not available on this host`);
  }
  if (base.fp16 === true && base.fp !== true) throw new HypError("cpu-features: 'fp16' needs 'fp'");
  if (base.pmull === true && base.aes !== true) throw new HypError("cpu-features: 'pmull' needs 'aes'");
  const out = { ...(base as unknown as CpuFeatures), paBits: host.paBits, mpidrAff: 0 };
  const { idRegs: _ignored, ...flags } = out;
  return { ...out, idRegs: idRegisters(flags) };
}

/**
 * The ID registers the guest reads: those of its feature set, with
 * ID_AA64MMFR0_EL1.PARange capped to the IPA size, EL2 and EL3 reported
 * as not implemented (ID_AA64PFR0_EL1.EL2/EL3 = 0: no nested virtualization
 * yet), and the GIC system register interface only with an irqchip.
 */
function guestIdRegs(f: CpuFeatures, ipaBits: number, gic: boolean): Record<string, [number, number]> {
  const r: Record<string, [number, number]> = {};
  for (const [k, [lo, hi]] of Object.entries(f.idRegs)) r[k] = [lo, hi];
  const pfr0 = r.ID_AA64PFR0_EL1 ?? [0, 0];
  r.ID_AA64PFR0_EL1 = [((pfr0[0] & ~(0xf << 8) & ~(0xf << 12) & ~(0xf << 24)) | (gic ? 1 << 24 : 0)) >>> 0, pfr0[1]];
  const mmfr0 = r.ID_AA64MMFR0_EL1 ?? [0, 0];
  r.ID_AA64MMFR0_EL1 = [((mmfr0[0] & ~0xf) | paRangeEncoding(ipaBits)) >>> 0, mmfr0[1]];
  return r;
}
