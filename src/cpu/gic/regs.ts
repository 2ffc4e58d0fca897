/**
 * Register layouts and implementation parameters of the GICv3 virtual CPU
 * interface (GIC architecture IHI 0069, chapter 12: ICH_LR<n>_EL2,
 * ICH_HCR_EL2, ICH_VMCR_EL2, ICH_MISR_EL2, ICH_VTR_EL2). Bits of 64-bit
 * registers above 31 are given as masks of the high half.
 */
export const NUM_LRS = 4;
export const PRI_BITS = 5;
export const PRE_BITS = 5;
/** Implemented priority bits: [7:8-PRIbits]. */
export const PRIO_MASK = (0xff << (8 - PRI_BITS)) & 0xff;
/** A group priority's active-priority bit is priority >> APR_SHIFT. */
export const APR_SHIFT = 8 - PRE_BITS;
/** The smallest ICV_BPR0 value (7 - PREbits); ICV_BPR1's is one more. */
export const MIN_BPR0 = 7 - PRE_BITS;
export const MIN_BPR1 = MIN_BPR0 + 1;

export const INTID_SPURIOUS = 1023;
/** First LPI INTID: EOIs of vLPIs absent from the LRs do not count in EOIcount. */
export const LPI_BASE = 8192;

// ICH_LR<n>_EL2, bits 63:32 (the high half in pe.sr).
export const LR_STATE_PENDING = 1 << 30; // State[0], bit 62
export const LR_STATE_ACTIVE = 1 << 31; // State[1], bit 63
export const LR_HW = 1 << 29; // bit 61
export const LR_GROUP = 1 << 28; // bit 60
export const LR_EOI = 1 << 9; // bit 41 (HW = 0)
export const LR_PINTID_MASK = 0x1fff; // bits 44:32
/** Bits 63:32 that hold something: State, HW, Group, Priority, pINTID/EOI. */
export const LR_HI_MASK = (0xf << 28) | (0xff << 16) | LR_PINTID_MASK;

// ICH_HCR_EL2
export const HCR_EN = 1 << 0;
export const HCR_UIE = 1 << 1;
export const HCR_LRENPIE = 1 << 2;
export const HCR_NPIE = 1 << 3;
export const HCR_VGRP0EIE = 1 << 4;
export const HCR_VGRP0DIE = 1 << 5;
export const HCR_VGRP1EIE = 1 << 6;
export const HCR_VGRP1DIE = 1 << 7;
export const HCR_TC = 1 << 10;
export const HCR_TALL0 = 1 << 11;
export const HCR_TALL1 = 1 << 12;
export const HCR_TSEI = 1 << 13;
export const HCR_TDIR = 1 << 14;
export const HCR_EOICOUNT_SHIFT = 27;
export const HCR_MASK = 0xff | HCR_TC | HCR_TALL0 | HCR_TALL1 | HCR_TSEI | HCR_TDIR | (0x1f << HCR_EOICOUNT_SHIFT);

// ICH_VMCR_EL2
export const VMCR_VENG0 = 1 << 0;
export const VMCR_VENG1 = 1 << 1;
export const VMCR_VACKCTL = 1 << 2;
export const VMCR_VFIQEN = 1 << 3;
export const VMCR_VCBPR = 1 << 4;
export const VMCR_VEOIM = 1 << 9;
export const VMCR_VBPR1_SHIFT = 18;
export const VMCR_VBPR0_SHIFT = 21;
export const VMCR_VPMR_SHIFT = 24;

// ICH_MISR_EL2
export const MISR_EOI = 1 << 0;
export const MISR_U = 1 << 1;
export const MISR_LRENP = 1 << 2;
export const MISR_NP = 1 << 3;
export const MISR_VGRP0E = 1 << 4;
export const MISR_VGRP0D = 1 << 5;
export const MISR_VGRP1E = 1 << 6;
export const MISR_VGRP1D = 1 << 7;

/** ICH_VTR_EL2: PRIbits-1 [31:29], PREbits-1 [28:26], IDbits [25:23] = 0 (16 bits), A3V [21], nV4 [20], TDS [19], ListRegs-1 [4:0]. */
export const VTR_VALUE = ((PRI_BITS - 1) << 29) | ((PRE_BITS - 1) << 26) | (1 << 21) | (1 << 20) | (1 << 19) | (NUM_LRS - 1);

