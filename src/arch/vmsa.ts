/**
 * VMSAv8-64 facts: TCR_EL1 / VTCR_EL2 fields, translation granules and the
 * lookup geometry they imply, the bits of table, block and page descriptors
 * (stage 1 and stage 2), and the PAR_EL1 layout. No state.
 *
 * 64-bit register values arrive as (lo, hi) 32-bit halves; the constants
 * below say which half a field lives in.
 */

// ---- TCR_EL1 ------------------------------------------------------------
// Bits 31:0
export const TCR_T0SZ_SHIFT = 0; // [5:0]
export const TCR_EPD0 = 1 << 7;
export const TCR_TG0_SHIFT = 14; // [15:14]: 00 4K, 01 64K, 10 16K
export const TCR_T1SZ_SHIFT = 16; // [21:16]
export const TCR_A1 = 1 << 22; // ASID from TTBR1_EL1 (1) or TTBR0_EL1 (0)
export const TCR_EPD1 = 1 << 23;
export const TCR_TG1_SHIFT = 30; // [31:30]: 01 16K, 10 4K, 11 64K
// Bits 63:32 (as bit positions in the high half)
export const TCR_HI_IPS_SHIFT = 0; // IPS [34:32]
export const TCR_HI_AS = 1 << 4; // [36] 16-bit ASID
export const TCR_HI_TBI0 = 1 << 5; // [37]
export const TCR_HI_TBI1 = 1 << 6; // [38]

// ---- VTCR_EL2 (all in bits 31:0) ------------------------------------------
export const VTCR_T0SZ_SHIFT = 0; // [5:0]
export const VTCR_SL0_SHIFT = 6; // [7:6]
export const VTCR_TG0_SHIFT = 14; // [15:14], encoded as TCR_EL1.TG0
export const VTCR_PS_SHIFT = 16; // [18:16]
export const VTCR_VS = 1 << 19; // 16-bit VMID

// ---- SCTLR_EL1 / HCR_EL2 bits the MMU reads ----------------------------------
export const SCTLR_M = 1 << 0;
export const SCTLR_WXN = 1 << 19;
export const HCR_VM = 1 << 0;
export const HCR_DC = 1 << 12;
export const HCR_TGE = 1 << 27;

/** Output address size in bits for a TCR_EL1.IPS / VTCR_EL2.PS / ID_AA64MMFR0_EL1.PARange value. */
export const PS_BITS: readonly number[] = [32, 36, 40, 42, 44, 48, 52, 52];

/** Granule size log2 for TCR_ELx.TG0 / VTCR_EL2.TG0 (reserved 11 is treated as 4K, as QEMU does). */
export function tg0Log2(tg0: number): number {
  return tg0 === 1 ? 16 : tg0 === 2 ? 14 : 12;
}
/** Granule size log2 for TCR_EL1.TG1 (encoded differently from TG0; reserved 00 is treated as 4K). */
export function tg1Log2(tg1: number): number {
  return tg1 === 1 ? 14 : tg1 === 3 ? 16 : 12;
}

/** Smallest and largest TxSZ without FEAT_LVA / FEAT_TTST (48-bit VA down to 25-bit). */
export const TXSZ_MIN = 16;
export const TXSZ_MAX = 39;

/**
 * Starting level of a stage-1 lookup (AArch64.S1StartLevel): the fewest
 * levels that resolve `inputBits` of address with granule 2^g, each level
 * resolving g-3 bits.
 */
export function s1StartLevel(inputBits: number, g: number): number {
  const stride = g - 3;
  return 4 - Math.ceil((inputBits - g) / stride);
}

/**
 * Starting level of a stage-2 lookup from VTCR_EL2.SL0 (AArch64.S2StartLevel),
 * or -1 for a reserved encoding. 4K: SL0 0/1/2 = level 2/1/0; 16K and 64K:
 * SL0 0/1/2 = level 3/2/1.
 */
export function s2StartLevel(sl0: number, g: number): number {
  if (sl0 === 3) return -1;
  return g === 12 ? 2 - sl0 : 3 - sl0;
}

/** Address bit at which the index for `level` starts (the log2 of the size one entry maps). */
export function levelShift(level: number, g: number): number {
  return g + (g - 3) * (3 - level);
}

/** Whether a block descriptor is allowed at `level` for granule 2^g (without FEAT_LPA2; 64K level-1 blocks need 52-bit PAs). */
export function blockAllowed(level: number, g: number, pa52: boolean): boolean {
  if (g === 12) return level === 1 || level === 2;
  if (g === 14) return level === 2;
  return level === 2 || (level === 1 && pa52);
}

// ---- Descriptors (bit positions within the low or high 32-bit half) ------------
/** Bits [1:0]: bit 0 valid, bit 1 table (levels 0-2) or page (level 3). */
export const DESC_VALID = 1;
export const DESC_TABLE = 2;
// Low half, stage 1 block/page
export const D_ATTRINDX_SHIFT = 2; // [4:2]
export const D_AP1 = 1 << 6; // AP[1]: EL0 access
export const D_AP2 = 1 << 7; // AP[2]: read-only
export const D_SH_SHIFT = 8; // [9:8]
export const D_AF = 1 << 10;
export const D_NG = 1 << 11;
// Low half, stage 2 block/page
export const D2_MEMATTR_SHIFT = 2; // [5:2]
export const D2_S2AP_R = 1 << 6; // S2AP[0]
export const D2_S2AP_W = 1 << 7; // S2AP[1]
// High half (bit n of the descriptor is bit n-32 here)
export const DH_CONTIG = 1 << (52 - 32);
export const DH_PXN = 1 << (53 - 32); // stage 1; stage 2 XN[0] with FEAT_XNX
export const DH_UXN = 1 << (54 - 32); // stage 1 UXN/XN; stage 2 XN[1]
export const DH_PXNTABLE = 1 << (59 - 32);
export const DH_UXNTABLE = 1 << (60 - 32);
export const DH_APTABLE0 = 1 << (61 - 32); // no EL0 access below
export const DH_APTABLE1 = 1 << (62 - 32); // no write access below

// ---- PAR_EL1 -------------------------------------------------------------------
export const PAR_F = 1;
export const PAR_FST_SHIFT = 1; // [6:1] on failure
export const PAR_PTW = 1 << 8; // on failure: stage-2 fault on a stage-1 walk
export const PAR_S = 1 << 9; // on failure: the fault was at stage 2
export const PAR_SH_SHIFT = 7; // [8:7] on success
export const PAR_RES1 = 1 << 11;
export const PAR_HI_ATTR_SHIFT = 24; // ATTR [63:56]

// ---- Permission bits the MMU hands to the TLB ------------------------------------
export const PERM_R = 1;
export const PERM_W = 2;
export const PERM_X = 4;
