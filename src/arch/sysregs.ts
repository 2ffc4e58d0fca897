/**
 * System register encodings (op0, op1, CRn, CRm, op2) as MRS/MSR name them.
 * Each register gets a small integer id; the PE keeps register values in an
 * Int32Array at [2*id] (bits 31:0) and [2*id+1] (bits 63:32).
 */

export interface SysRegInfo {
  readonly name: string;
  readonly op0: number;
  readonly op1: number;
  readonly crn: number;
  readonly crm: number;
  readonly op2: number;
  readonly id: number;
}

/** [name, op0, op1, CRn, CRm, op2] */
const LIST: ReadonlyArray<readonly [string, number, number, number, number, number]> = [
  // Identification
  ['MIDR_EL1', 3, 0, 0, 0, 0],
  ['MPIDR_EL1', 3, 0, 0, 0, 5],
  ['REVIDR_EL1', 3, 0, 0, 0, 6],
  ['ID_PFR0_EL1', 3, 0, 0, 1, 0],
  ['ID_PFR1_EL1', 3, 0, 0, 1, 1],
  ['ID_DFR0_EL1', 3, 0, 0, 1, 2],
  ['ID_AFR0_EL1', 3, 0, 0, 1, 3],
  ['ID_MMFR0_EL1', 3, 0, 0, 1, 4],
  ['ID_MMFR1_EL1', 3, 0, 0, 1, 5],
  ['ID_MMFR2_EL1', 3, 0, 0, 1, 6],
  ['ID_MMFR3_EL1', 3, 0, 0, 1, 7],
  ['ID_ISAR0_EL1', 3, 0, 0, 2, 0],
  ['ID_ISAR1_EL1', 3, 0, 0, 2, 1],
  ['ID_ISAR2_EL1', 3, 0, 0, 2, 2],
  ['ID_ISAR3_EL1', 3, 0, 0, 2, 3],
  ['ID_ISAR4_EL1', 3, 0, 0, 2, 4],
  ['ID_ISAR5_EL1', 3, 0, 0, 2, 5],
  ['ID_MMFR4_EL1', 3, 0, 0, 2, 6],
  ['ID_ISAR6_EL1', 3, 0, 0, 2, 7],
  ['MVFR0_EL1', 3, 0, 0, 3, 0],
  ['MVFR1_EL1', 3, 0, 0, 3, 1],
  ['MVFR2_EL1', 3, 0, 0, 3, 2],
  ['ID_PFR2_EL1', 3, 0, 0, 3, 4],
  ['ID_DFR1_EL1', 3, 0, 0, 3, 5],
  ['ID_MMFR5_EL1', 3, 0, 0, 3, 6],
  ['ID_AA64PFR0_EL1', 3, 0, 0, 4, 0],
  ['ID_AA64PFR1_EL1', 3, 0, 0, 4, 1],
  ['ID_AA64ZFR0_EL1', 3, 0, 0, 4, 4],
  ['ID_AA64SMFR0_EL1', 3, 0, 0, 4, 5],
  ['ID_AA64DFR0_EL1', 3, 0, 0, 5, 0],
  ['ID_AA64DFR1_EL1', 3, 0, 0, 5, 1],
  ['ID_AA64AFR0_EL1', 3, 0, 0, 5, 4],
  ['ID_AA64AFR1_EL1', 3, 0, 0, 5, 5],
  ['ID_AA64ISAR0_EL1', 3, 0, 0, 6, 0],
  ['ID_AA64ISAR1_EL1', 3, 0, 0, 6, 1],
  ['ID_AA64ISAR2_EL1', 3, 0, 0, 6, 2],
  ['ID_AA64MMFR0_EL1', 3, 0, 0, 7, 0],
  ['ID_AA64MMFR1_EL1', 3, 0, 0, 7, 1],
  ['ID_AA64MMFR2_EL1', 3, 0, 0, 7, 2],
  ['CCSIDR_EL1', 3, 1, 0, 0, 0],
  ['CLIDR_EL1', 3, 1, 0, 0, 1],
  ['AIDR_EL1', 3, 1, 0, 0, 7],
  ['CSSELR_EL1', 3, 2, 0, 0, 0],
  ['CTR_EL0', 3, 3, 0, 0, 1],
  ['DCZID_EL0', 3, 3, 0, 0, 7],
  // EL1 system control
  ['SCTLR_EL1', 3, 0, 1, 0, 0],
  ['ACTLR_EL1', 3, 0, 1, 0, 1],
  ['CPACR_EL1', 3, 0, 1, 0, 2],
  ['TTBR0_EL1', 3, 0, 2, 0, 0],
  ['TTBR1_EL1', 3, 0, 2, 0, 1],
  ['TCR_EL1', 3, 0, 2, 0, 2],
  ['SPSR_EL1', 3, 0, 4, 0, 0],
  ['ELR_EL1', 3, 0, 4, 0, 1],
  ['SP_EL0', 3, 0, 4, 1, 0],
  ['SPSel', 3, 0, 4, 2, 0],
  ['CurrentEL', 3, 0, 4, 2, 2],
  ['PAN', 3, 0, 4, 2, 3],
  ['UAO', 3, 0, 4, 2, 4],
  ['ICC_PMR_EL1', 3, 0, 4, 6, 0],
  ['AFSR0_EL1', 3, 0, 5, 1, 0],
  ['AFSR1_EL1', 3, 0, 5, 1, 1],
  ['ESR_EL1', 3, 0, 5, 2, 0],
  ['ERRIDR_EL1', 3, 0, 5, 3, 0],
  ['ERRSELR_EL1', 3, 0, 5, 3, 1],
  ['FAR_EL1', 3, 0, 6, 0, 0],
  ['PAR_EL1', 3, 0, 7, 4, 0],
  ['PMINTENSET_EL1', 3, 0, 9, 14, 1],
  ['PMINTENCLR_EL1', 3, 0, 9, 14, 2],
  ['MAIR_EL1', 3, 0, 10, 2, 0],
  ['AMAIR_EL1', 3, 0, 10, 3, 0],
  ['VBAR_EL1', 3, 0, 12, 0, 0],
  ['ISR_EL1', 3, 0, 12, 1, 0],
  ['CONTEXTIDR_EL1', 3, 0, 13, 0, 1],
  ['TPIDR_EL1', 3, 0, 13, 0, 4],
  ['CNTKCTL_EL1', 3, 0, 14, 1, 0],
  // EL0-accessible
  ['NZCV', 3, 3, 4, 2, 0],
  ['DAIF', 3, 3, 4, 2, 1],
  ['FPCR', 3, 3, 4, 4, 0],
  ['FPSR', 3, 3, 4, 4, 1],
  ['DSPSR_EL0', 3, 3, 4, 5, 0],
  ['DLR_EL0', 3, 3, 4, 5, 1],
  ['PMCR_EL0', 3, 3, 9, 12, 0],
  ['PMCNTENSET_EL0', 3, 3, 9, 12, 1],
  ['PMCNTENCLR_EL0', 3, 3, 9, 12, 2],
  ['PMOVSCLR_EL0', 3, 3, 9, 12, 3],
  ['PMSWINC_EL0', 3, 3, 9, 12, 4],
  ['PMSELR_EL0', 3, 3, 9, 12, 5],
  ['PMCEID0_EL0', 3, 3, 9, 12, 6],
  ['PMCEID1_EL0', 3, 3, 9, 12, 7],
  ['PMCCNTR_EL0', 3, 3, 9, 13, 0],
  ['PMXEVTYPER_EL0', 3, 3, 9, 13, 1],
  ['PMXEVCNTR_EL0', 3, 3, 9, 13, 2],
  ['PMUSERENR_EL0', 3, 3, 9, 14, 0],
  ['PMOVSSET_EL0', 3, 3, 9, 14, 3],
  ['TPIDR_EL0', 3, 3, 13, 0, 2],
  ['TPIDRRO_EL0', 3, 3, 13, 0, 3],
  ['CNTFRQ_EL0', 3, 3, 14, 0, 0],
  ['CNTPCT_EL0', 3, 3, 14, 0, 1],
  ['CNTVCT_EL0', 3, 3, 14, 0, 2],
  ['CNTP_TVAL_EL0', 3, 3, 14, 2, 0],
  ['CNTP_CTL_EL0', 3, 3, 14, 2, 1],
  ['CNTP_CVAL_EL0', 3, 3, 14, 2, 2],
  ['CNTV_TVAL_EL0', 3, 3, 14, 3, 0],
  ['CNTV_CTL_EL0', 3, 3, 14, 3, 1],
  ['CNTV_CVAL_EL0', 3, 3, 14, 3, 2],
  ['PMCCFILTR_EL0', 3, 3, 14, 15, 7],
  // Debug (op0=2)
  ['OSDTRRX_EL1', 2, 0, 0, 0, 2],
  ['MDCCINT_EL1', 2, 0, 0, 2, 0],
  ['MDSCR_EL1', 2, 0, 0, 2, 2],
  ['OSDTRTX_EL1', 2, 0, 0, 3, 2],
  ['OSECCR_EL1', 2, 0, 0, 6, 2],
  ['MDRAR_EL1', 2, 0, 1, 0, 0],
  ['OSLAR_EL1', 2, 0, 1, 0, 4],
  ['OSLSR_EL1', 2, 0, 1, 1, 4],
  ['OSDLR_EL1', 2, 0, 1, 3, 4],
  ['DBGPRCR_EL1', 2, 0, 1, 4, 4],
  ['DBGCLAIMSET_EL1', 2, 0, 7, 8, 6],
  ['DBGCLAIMCLR_EL1', 2, 0, 7, 9, 6],
  ['DBGAUTHSTATUS_EL1', 2, 0, 7, 14, 6],
  ['MDCCSR_EL0', 2, 3, 0, 1, 0],
  // EL2 (the PE's EL2 register file, programmed by L0)
  ['VPIDR_EL2', 3, 4, 0, 0, 0],
  ['VMPIDR_EL2', 3, 4, 0, 0, 5],
  ['SCTLR_EL2', 3, 4, 1, 0, 0],
  ['ACTLR_EL2', 3, 4, 1, 0, 1],
  ['HCR_EL2', 3, 4, 1, 1, 0],
  ['MDCR_EL2', 3, 4, 1, 1, 1],
  ['CPTR_EL2', 3, 4, 1, 1, 2],
  ['HSTR_EL2', 3, 4, 1, 1, 3],
  ['HACR_EL2', 3, 4, 1, 1, 7],
  ['TTBR0_EL2', 3, 4, 2, 0, 0],
  ['TTBR1_EL2', 3, 4, 2, 0, 1],
  ['TCR_EL2', 3, 4, 2, 0, 2],
  ['VTTBR_EL2', 3, 4, 2, 1, 0],
  ['VTCR_EL2', 3, 4, 2, 1, 2],
  ['VNCR_EL2', 3, 4, 2, 2, 0],
  ['SPSR_EL2', 3, 4, 4, 0, 0],
  ['ELR_EL2', 3, 4, 4, 0, 1],
  ['SP_EL1', 3, 4, 4, 1, 0],
  ['AFSR0_EL2', 3, 4, 5, 1, 0],
  ['AFSR1_EL2', 3, 4, 5, 1, 1],
  ['ESR_EL2', 3, 4, 5, 2, 0],
  ['FAR_EL2', 3, 4, 6, 0, 0],
  ['HPFAR_EL2', 3, 4, 6, 0, 4],
  ['MAIR_EL2', 3, 4, 10, 2, 0],
  ['AMAIR_EL2', 3, 4, 10, 3, 0],
  ['VBAR_EL2', 3, 4, 12, 0, 0],
  ['CONTEXTIDR_EL2', 3, 4, 13, 0, 1],
  ['TPIDR_EL2', 3, 4, 13, 0, 2],
  ['CNTVOFF_EL2', 3, 4, 14, 0, 3],
  ['CNTHCTL_EL2', 3, 4, 14, 1, 0],
  ['CNTHP_TVAL_EL2', 3, 4, 14, 2, 0],
  ['CNTHP_CTL_EL2', 3, 4, 14, 2, 1],
  ['CNTHP_CVAL_EL2', 3, 4, 14, 2, 2],
  ['CNTHV_TVAL_EL2', 3, 4, 14, 3, 0],
  ['CNTHV_CTL_EL2', 3, 4, 14, 3, 1],
  ['CNTHV_CVAL_EL2', 3, 4, 14, 3, 2],
  ['SP_EL2', 3, 6, 4, 1, 0],
  // Breakpoint and watchpoint registers (ID_AA64DFR0_EL1 says 6 and 4)
  ['DBGBVR0_EL1', 2, 0, 0, 0, 4],
  ['DBGBCR0_EL1', 2, 0, 0, 0, 5],
  ['DBGBVR1_EL1', 2, 0, 0, 1, 4],
  ['DBGBCR1_EL1', 2, 0, 0, 1, 5],
  ['DBGBVR2_EL1', 2, 0, 0, 2, 4],
  ['DBGBCR2_EL1', 2, 0, 0, 2, 5],
  ['DBGBVR3_EL1', 2, 0, 0, 3, 4],
  ['DBGBCR3_EL1', 2, 0, 0, 3, 5],
  ['DBGBVR4_EL1', 2, 0, 0, 4, 4],
  ['DBGBCR4_EL1', 2, 0, 0, 4, 5],
  ['DBGBVR5_EL1', 2, 0, 0, 5, 4],
  ['DBGBCR5_EL1', 2, 0, 0, 5, 5],
  ['DBGWVR0_EL1', 2, 0, 0, 0, 6],
  ['DBGWCR0_EL1', 2, 0, 0, 0, 7],
  ['DBGWVR1_EL1', 2, 0, 0, 1, 6],
  ['DBGWCR1_EL1', 2, 0, 0, 1, 7],
  ['DBGWVR2_EL1', 2, 0, 0, 2, 6],
  ['DBGWCR2_EL1', 2, 0, 0, 2, 7],
  ['DBGWVR3_EL1', 2, 0, 0, 3, 6],
  ['DBGWCR3_EL1', 2, 0, 0, 3, 7],
];

export const SYSREGS: readonly SysRegInfo[] = LIST.map(([name, op0, op1, crn, crm, op2], id) => ({ name, op0, op1, crn, crm, op2, id }));

export const SYSREG_BY_NAME: ReadonlyMap<string, SysRegInfo> = new Map(SYSREGS.map((r) => [r.name, r]));

/** Key of an encoding: op0:op1:CRn:CRm:op2 packed as in the MRS instruction's bits [20:5]. */
export function sysregKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

export const SYSREG_BY_KEY: ReadonlyMap<number, SysRegInfo> = new Map(SYSREGS.map((r) => [sysregKey(r.op0, r.op1, r.crn, r.crm, r.op2), r]));

/** Id of a register by name; throws on a typo so that mistakes surface at module load. */
export function sr(name: string): number {
  const r = SYSREG_BY_NAME.get(name);
  if (r === undefined) throw new Error(`unknown system register ${name}`);
  return r.id;
}

export const NUM_SYSREGS = SYSREGS.length;

/** The generic name `S<op0>_<op1>_C<n>_C<m>_<op2>` for an encoding with no name. */
export function sysregGenericName(key: number): string {
  const op0 = (key >> 14) & 3, op1 = (key >> 11) & 7, crn = (key >> 7) & 15, crm = (key >> 3) & 15, op2 = key & 7;
  return SYSREG_BY_KEY.get(key)?.name ?? `S${op0}_${op1}_C${crn}_C${crm}_${op2}`;
}
