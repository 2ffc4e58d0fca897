/**
 * PSTATE as saved in SPSR_ELx for AArch64 (the SPSR layout): the PE holds the
 * fields separately and packs them only on exception entry and MRS.
 */
export const SPSR_N = 1 << 31;
export const SPSR_Z = 1 << 30;
export const SPSR_C = 1 << 29;
export const SPSR_V = 1 << 28;
export const SPSR_TCO = 1 << 25;
export const SPSR_DIT = 1 << 24;
export const SPSR_UAO = 1 << 23;
export const SPSR_PAN = 1 << 22;
export const SPSR_SS = 1 << 21;
export const SPSR_IL = 1 << 20;
export const SPSR_SSBS = 1 << 12;
export const SPSR_D = 1 << 9;
export const SPSR_A = 1 << 8;
export const SPSR_I = 1 << 7;
export const SPSR_F = 1 << 6;
/** M[4] = 1 means AArch32, which nestvisor does not implement. */
export const SPSR_M_AARCH32 = 1 << 4;

/** DAIF bits as the PE keeps them: the SPSR positions [9:6] shifted down by 6. */
export const DAIF_D = 8;
export const DAIF_A = 4;
export const DAIF_I = 2;
export const DAIF_F = 1;

/** Mode field M[3:0]: EL in [3:2], SPSel in [0]. */
export function modeName(m: number): string {
  const el = (m >> 2) & 3;
  return `EL${el}${el === 0 ? 't' : m & 1 ? 'h' : 't'}`;
}
