/**
 * MRS/MSR access to the GICv3 CPU interface registers from EL1 (GIC
 * architecture IHI 0069, 12.1 and the ICC_* and ICV_* accessor pseudocode).
 *
 * One encoding reaches either the physical register ICC_<name>_EL1 or the
 * virtual ICV_<name>_EL1:
 *
 *  - Group 1 registers (IAR1, EOIR1, HPPIR1, BPR1, AP1R<n>, IGRPEN1) are
 *    virtual when HCR_EL2.IMO = 1; Group 0 ones (IAR0, EOIR0, HPPIR0, BPR0,
 *    AP0R<n>, IGRPEN0) when HCR_EL2.FMO = 1; the common ones (CTLR, PMR, RPR,
 *    DIR) when IMO or FMO is 1;
 *  - before that, ICH_HCR_EL2.TALL1 / TALL0 trap the Group 1 / Group 0
 *    registers to EL2 (EC 0x18), TC the common ones and TDIR ICC_DIR_EL1,
 *    whether the access would be physical or virtual;
 *  - writes to the SGI generation registers (ICC_SGI1R_EL1, ICC_ASGI1R_EL1,
 *    ICC_SGI0R_EL1) trap to EL2 when IMO or FMO is 1 (L0 emulates them);
 *  - ICC_SRE_EL1 reads as SRE = DFB = DIB = 1 (system register interface
 *    only), writes are ignored.
 *
 * nestvisor's PE has no physical CPU interface for EL1: the GIC EL1 runs on
 * is always L0's virtual one. A physical access (the routing bit of its
 * group clear) is therefore UNDEFINED, as on a PE without the interface; L0
 * runs guests with HCR_EL2.IMO = FMO = 1.
 *
 * None of these registers is accessible at EL0 (UNDEFINED). Only
 * ICV_AP0R0/ICV_AP1R0 exist (PREbits = 5); AP<g>R1..3 are UNDEFINED.
 */
import type { PE } from '../pe.js';
import { defineSysreg, SysregReader, SysregWriter } from '../insn/sysreg.js';
import { sr } from '../../arch/sysregs.js';
import {
  HCR_TALL0, HCR_TALL1, HCR_TC, HCR_TDIR, MIN_BPR0, MIN_BPR1, PRI_BITS, PRIO_MASK, VMCR_VBPR0_SHIFT, VMCR_VBPR1_SHIFT, VMCR_VCBPR,
  VMCR_VENG0, VMCR_VENG1, VMCR_VEOIM, VMCR_VPMR_SHIFT,
} from './regs.js';

const SR_HCR_EL2 = sr('HCR_EL2');
const SR_ICH_HCR = sr('ICH_HCR_EL2');
const HCR_FMO = 1 << 3;
const HCR_IMO = 1 << 4;

/** Which HCR_EL2 routing bits make the access virtual. */
const G0 = HCR_FMO;
const G1 = HCR_IMO;
const COMMON = HCR_IMO | HCR_FMO;

/** ICC_CTLR_EL1 read-only fields of the virtual interface: PRIbits [10:8], IDbits [13:11] = 0 (16 bits), A3V [15]. */
const CTLR_RO = ((PRI_BITS - 1) << 8) | (1 << 15);

const ichTrap = (mask: number) => (pe: PE): boolean => (pe.sr[2 * SR_ICH_HCR] & mask) !== 0;

/** The access is to the virtual interface if HCR_EL2 routes the group to EL2; otherwise it is UNDEFINED (no physical interface for EL1). */
function virtualOrUndef(pe: PE, route: number): void {
  if ((pe.sr[2 * SR_HCR_EL2] & route) === 0) pe.undefinedInstruction();
}

function reader(route: number, f: (pe: PE) => number): SysregReader {
  return (pe, d) => {
    virtualOrUndef(pe, route);
    pe.x[d] = f(pe);
    pe.x[d + 1] = 0;
  };
}
function writer(route: number, f: (pe: PE, lo: number) => void): SysregWriter {
  return (pe, lo) => {
    virtualOrUndef(pe, route);
    f(pe, lo);
  };
}

const field = (v: number, shift: number, mask: number): number => (v >>> shift) & mask;
const setField = (v: number, shift: number, mask: number, x: number): number => (v & ~(mask << shift)) | ((x & mask) << shift);

for (const g of [0, 1] as const) {
  const route = g === 0 ? G0 : G1;
  const trap = ichTrap(g === 0 ? HCR_TALL0 : HCR_TALL1);
  const eng = g === 0 ? VMCR_VENG0 : VMCR_VENG1;
  // ICV_IAR<g>_EL1: acknowledge (VirtualReadIAR).
  defineSysreg(`ICC_IAR${g}_EL1`, { write: null, trapRead: trap, read: reader(route, (pe) => pe.gic.acknowledge(g)) });
  // ICV_EOIR<g>_EL1: priority drop, and deactivation with EOImode 0.
  defineSysreg(`ICC_EOIR${g}_EL1`, { read: null, trapWrite: trap, endsBlock: true, write: writer(route, (pe, lo) => pe.gic.endOfInterrupt(g, lo)) });
  // ICV_HPPIR<g>_EL1.
  defineSysreg(`ICC_HPPIR${g}_EL1`, { write: null, trapRead: trap, read: reader(route, (pe) => pe.gic.highestPending(g)) });
  // ICV_AP<g>R0_EL1: alias of ICH_AP<g>R0_EL2.
  defineSysreg(`ICC_AP${g}R0_EL1`, {
    trapRead: trap, trapWrite: trap, endsBlock: true,
    read: reader(route, (pe) => pe.gic.readAp(g)),
    write: writer(route, (pe, lo) => pe.gic.writeAp(g, lo)),
  });
  // ICV_IGRPEN<g>_EL1: ICH_VMCR_EL2.VENG<g>.
  defineSysreg(`ICC_IGRPEN${g}_EL1`, {
    trapRead: trap, trapWrite: trap, endsBlock: true,
    read: reader(route, (pe) => (pe.gic.vmcr & eng ? 1 : 0)),
    write: writer(route, (pe, lo) => pe.gic.setVmcr(lo & 1 ? pe.gic.vmcr | eng : pe.gic.vmcr & ~eng)),
  });
}

// ICV_BPR0_EL1: ICH_VMCR_EL2.VBPR0; values below the minimum (7 - PREbits) write the minimum.
defineSysreg('ICC_BPR0_EL1', {
  trapRead: ichTrap(HCR_TALL0), trapWrite: ichTrap(HCR_TALL0), endsBlock: true,
  read: reader(G0, (pe) => field(pe.gic.vmcr, VMCR_VBPR0_SHIFT, 7)),
  write: writer(G0, (pe, lo) => pe.gic.setVmcr(setField(pe.gic.vmcr, VMCR_VBPR0_SHIFT, 7, Math.max(lo & 7, MIN_BPR0)))),
});
// ICV_BPR1_EL1: ICH_VMCR_EL2.VBPR1; with VCBPR it reads VBPR0 + 1 (saturated at 7) and ignores writes.
defineSysreg('ICC_BPR1_EL1', {
  trapRead: ichTrap(HCR_TALL1), trapWrite: ichTrap(HCR_TALL1), endsBlock: true,
  read: reader(G1, (pe) => {
    const v = pe.gic.vmcr;
    return v & VMCR_VCBPR ? Math.min(field(v, VMCR_VBPR0_SHIFT, 7) + 1, 7) : field(v, VMCR_VBPR1_SHIFT, 7);
  }),
  write: writer(G1, (pe, lo) => {
    const v = pe.gic.vmcr;
    if (v & VMCR_VCBPR) return;
    pe.gic.setVmcr(setField(v, VMCR_VBPR1_SHIFT, 7, Math.max(lo & 7, MIN_BPR1)));
  }),
});

// Common registers (ICH_HCR_EL2.TC).
const tc = ichTrap(HCR_TC);
// ICV_CTLR_EL1: CBPR and EOImode are ICH_VMCR_EL2.VCBPR and VEOIM; PRIbits, IDbits, A3V read-only.
defineSysreg('ICC_CTLR_EL1', {
  trapRead: tc, trapWrite: tc, endsBlock: true,
  read: reader(COMMON, (pe) => {
    const v = pe.gic.vmcr;
    return (v & VMCR_VCBPR ? 1 : 0) | (v & VMCR_VEOIM ? 2 : 0) | CTLR_RO;
  }),
  write: writer(COMMON, (pe, lo) => {
    let v = pe.gic.vmcr & ~(VMCR_VCBPR | VMCR_VEOIM);
    if (lo & 1) v |= VMCR_VCBPR;
    if (lo & 2) v |= VMCR_VEOIM;
    pe.gic.setVmcr(v);
  }),
});
// ICV_PMR_EL1: ICH_VMCR_EL2.VPMR (the implemented priority bits).
defineSysreg('ICC_PMR_EL1', {
  trapRead: tc, trapWrite: tc, endsBlock: true,
  read: reader(COMMON, (pe) => field(pe.gic.vmcr, VMCR_VPMR_SHIFT, 0xff)),
  write: writer(COMMON, (pe, lo) => pe.gic.setVmcr(setField(pe.gic.vmcr, VMCR_VPMR_SHIFT, 0xff, lo & PRIO_MASK))),
});
// ICV_RPR_EL1: the running priority (0xff when no priority is active).
defineSysreg('ICC_RPR_EL1', { write: null, trapRead: tc, read: reader(COMMON, (pe) => pe.gic.runningPriority()) });
// ICV_DIR_EL1: deactivation with EOImode 1 (ICH_HCR_EL2.TDIR traps it as well as TC).
const tdir = ichTrap(HCR_TC | HCR_TDIR);
defineSysreg('ICC_DIR_EL1', { read: null, trapWrite: tdir, endsBlock: true, write: writer(COMMON, (pe, lo) => pe.gic.deactivateInterrupt(lo)) });

// SGI generation: trapped to EL2 with IMO or FMO (and by ICH_HCR_EL2.TC); otherwise physical, hence UNDEFINED here.
const sgiTrap = (pe: PE): boolean => (pe.sr[2 * SR_HCR_EL2] & COMMON) !== 0 || (pe.sr[2 * SR_ICH_HCR] & HCR_TC) !== 0;
for (const name of ['ICC_SGI1R_EL1', 'ICC_ASGI1R_EL1', 'ICC_SGI0R_EL1']) {
  defineSysreg(name, { read: null, trapWrite: sgiTrap, write: (pe) => pe.undefinedInstruction() });
}

// ICC_SRE_EL1: SRE, DFB, DIB read as one (RAO/WI): the system register interface is the only one.
defineSysreg('ICC_SRE_EL1', {
  read: (pe, d) => {
    pe.x[d] = 7;
    pe.x[d + 1] = 0;
  },
  write: () => {},
});
