/** PSCI and SMCCC function identifiers and return codes (Arm DEN0022 and DEN0028). */
export const PSCI = {
  VERSION: 0x84000000,
  CPU_SUSPEND_32: 0x84000001,
  CPU_SUSPEND: 0xc4000001,
  CPU_OFF: 0x84000002,
  CPU_ON_32: 0x84000003,
  CPU_ON: 0xc4000003,
  AFFINITY_INFO_32: 0x84000004,
  AFFINITY_INFO: 0xc4000004,
  MIGRATE_INFO_TYPE: 0x84000006,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
  FEATURES: 0x8400000a,
} as const;

export const SMCCC = {
  VERSION: 0x80000000,
  ARCH_FEATURES: 0x80000001,
} as const;

export const PSCI_RET = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  ALREADY_ON: -4,
  ON_PENDING: -5,
  INTERNAL_FAILURE: -6,
  NOT_PRESENT: -7,
  DISABLED: -8,
  INVALID_ADDRESS: -9,
} as const;

/** PSCI 1.1 as returned by PSCI_VERSION (major in [31:16], minor in [15:0]). */
export const PSCI_VERSION_1_1 = 0x00010001;
/** MIGRATE_INFO_TYPE: trusted OS not present or does not require migration. */
export const PSCI_TOS_NOT_PRESENT_MP = 2;
