/** The hypervisor API (see docs/hyp-api.md). */
export { Hypervisor } from './hypervisor.js';
export type { HypervisorOptions } from './hypervisor.js';
export { Vm } from './vm.js';
export type { MemoryRegion, MemSlot, VmRunResult } from './vm.js';
export { Vcpu, PPI_PHYS_TIMER, PPI_VIRT_TIMER } from './vcpu.js';
export type { VcpuFeatures } from './vcpu.js';
export { HypError } from './errors.js';
export type { VmAttr, VmAttrKind, VmCpuFeatures, IrqchipInfo } from './attrs.js';
export type { Exit, MmioExit, SystemEventExit, HypercallExit, DebugExit, InternalErrorExit, PreemptedExit, HaltedExit, StatName } from './exits.js';
export { STAT_NAMES } from './exits.js';
export { Reg, regName, checkRegId } from './regs.js';
export type { RegId } from './regs.js';
