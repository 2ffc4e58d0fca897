/**
 * The feature set of a PE: which optional instructions exist and what the ID
 * registers say. The decoder drops encodings whose feature is off, so a guest
 * that ignores the ID registers still gets Undefined Instruction.
 */
export interface CpuFeatures {
  /** FEAT_LSE: CAS, CASP, LDADD..., SWP. */
  lse: boolean;
  /** FEAT_CRC32: CRC32B/H/W/X and CRC32C*. */
  crc32: boolean;
  /** FP and Advanced SIMD (ID_AA64PFR0_EL1.FP/AdvSIMD). */
  fp: boolean;
  /** FEAT_FP16: half-precision arithmetic (scalar and vector). */
  fp16: boolean;
  /** FEAT_AES (AESE/AESD/AESMC/AESIMC) and FEAT_PMULL (PMULL/PMULL2 on 64-bit lanes). */
  aes: boolean;
  pmull: boolean;
  /** FEAT_SHA1 and FEAT_SHA256. */
  sha1: boolean;
  sha256: boolean;
  /** FEAT_DPB: DC CVAP. */
  dpb: boolean;
  /** FEAT_PAN. */
  pan: boolean;
  /** FEAT_UAO. */
  uao: boolean;
  midr: number;
  /** MPIDR_EL1 affinity bits (Aff0 in [7:0], Aff1 in [15:8], Aff2 in [23:16]). */
  mpidrAff: number;
  /** CNTFRQ_EL0 in Hz. */
  cntfrq: number;
  /** Physical address size in bits (ID_AA64MMFR0_EL1.PARange). */
  paBits: number;
  /** ID register values, [bits 31:0, bits 63:32] by register name. Derived from the flags above by `idRegisters`. */
  idRegs: Record<string, [number, number]>;
}

const PARANGE: Record<number, number> = { 32: 0, 36: 1, 40: 2, 42: 3, 44: 4, 48: 5, 52: 6 };

/** The ID register values that describe exactly the features given. */
export function idRegisters(f: Omit<CpuFeatures, 'idRegs'>): Record<string, [number, number]> {
  const fpField = !f.fp ? 0xf : f.fp16 ? 1 : 0;
  const parange = PARANGE[f.paBits];
  if (parange === undefined) throw new Error(`unsupported physical address size ${f.paBits}`);
  return {
    // EL0, EL1, EL2 AArch64 only; EL3 absent; FP/AdvSIMD: 0xf not implemented, 0 implemented, 1 with FP16;
    // GIC system register interface v3 (GIC=1).
    ID_AA64PFR0_EL1: [(0x1 | (0x1 << 4) | (0x1 << 8) | (fpField << 16) | (fpField << 20) | (0x1 << 24)) >>> 0, 0],
    // AES [7:4] (2 = AES + PMULL), SHA1 [11:8], SHA2 [15:12], CRC32 [19:16], Atomic [23:20].
    // DPB [3:0].
    ID_AA64ISAR1_EL1: [(f.dpb ? 1 : 0) >>> 0, 0],
    ID_AA64ISAR0_EL1: [((f.aes ? (f.pmull ? 2 : 1) << 4 : 0) | (f.sha1 ? 1 << 8 : 0) | (f.sha256 ? 1 << 12 : 0) | (f.crc32 ? 1 << 16 : 0) | (f.lse ? 2 << 20 : 0)) >>> 0, 0],
    // PARange; ASIDBits=16; TGran16 supported (1), TGran64 (0) and TGran4 (0) supported.
    ID_AA64MMFR0_EL1: [(parange | (2 << 4) | (1 << 20)) >>> 0, 0],
    // VMIDBits=16; PAN.
    ID_AA64MMFR1_EL1: [((2 << 4) | (f.pan ? 1 << 20 : 0)) >>> 0, 0],
    // UAO.
    ID_AA64MMFR2_EL1: [(f.uao ? 1 << 4 : 0) >>> 0, 0],
    // Debug architecture v8.0 (6), 6 breakpoints, 4 watchpoints, PMUv3 not implemented.
    ID_AA64DFR0_EL1: [(0x6 | (5 << 12) | (3 << 20)) >>> 0, 0],
  };
}

/** nestvisor's default PE: everything the processor implements. */
export function defaultFeatures(): CpuFeatures {
  const base = { lse: true, crc32: true, fp: true, fp16: true, aes: true, pmull: true, sha1: true, sha256: true, dpb: true, pan: true, uao: true, midr: 0x411fd070, mpidrAff: 0, cntfrq: 62_500_000, paBits: 48 };
  return { ...base, idRegs: idRegisters(base) };
}

/** A named CPU model (the `-cpu` option), mapped to a feature set. */
export function cpuModel(name: string): CpuFeatures {
  switch (name) {
    case 'max':
      return defaultFeatures();
    case 'cortex-a57': {
      // Cortex-A57 with the Cryptographic Extension (as QEMU's model): FP and AdvSIMD, no FP16, no LSE.
      const base = { lse: false, crc32: true, fp: true, fp16: false, aes: true, pmull: true, sha1: true, sha256: true, dpb: false, pan: false, uao: false, midr: 0x411fd070, mpidrAff: 0, cntfrq: 62_500_000, paBits: 44 };
      return { ...base, idRegs: idRegisters(base) };
    }
    default:
      throw new Error(`unknown CPU model '${name}' (known: max, cortex-a57)`);
  }
}
