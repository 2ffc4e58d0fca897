/** Exception classes (ESR_ELx.EC, bits [31:26]) and syndrome helpers. */
export const EC = {
  UNKNOWN: 0x00,
  WFX: 0x01,
  CP15_MCR: 0x03,
  FP_ASIMD: 0x07,
  ILLEGAL_STATE: 0x0e,
  SVC64: 0x15,
  HVC64: 0x16,
  SMC64: 0x17,
  SYS64: 0x18,
  SVE: 0x19,
  ERET: 0x1a,
  PAC: 0x1c,
  IABT_LOWER: 0x20,
  IABT_CUR: 0x21,
  PC_ALIGN: 0x22,
  DABT_LOWER: 0x24,
  DABT_CUR: 0x25,
  SP_ALIGN: 0x26,
  FP_EXC64: 0x2c,
  SERROR: 0x2f,
  BREAKPOINT_LOWER: 0x30,
  BREAKPOINT_CUR: 0x31,
  SOFTSTEP_LOWER: 0x32,
  SOFTSTEP_CUR: 0x33,
  WATCHPT_LOWER: 0x34,
  WATCHPT_CUR: 0x35,
  BRK64: 0x3c,
} as const;

/** Fault status codes (DFSC/IFSC, ISS bits [5:0]) for the long-descriptor format. */
export const FSC = {
  ADDR_SIZE: 0x00, // + level
  TRANSLATION: 0x04, // + level
  ACCESS_FLAG: 0x08, // + level
  PERMISSION: 0x0c, // + level
  SYNC_EXTERNAL: 0x10,
  SYNC_EXTERNAL_WALK: 0x14, // + level
  ALIGNMENT: 0x21,
  TLB_CONFLICT: 0x30,
} as const;

export const ESR_IL = 1 << 25;

export function ecName(ec: number): string {
  for (const [k, v] of Object.entries(EC)) if (v === ec) return k;
  return `EC_0x${ec.toString(16)}`;
}
