/** Exceptions into EL1 and back, and the EL0 access rules (guest tests/guests/sysexc). */
import { compareGuest } from './compare.js';

compareGuest('sysexc', {
  knownQemuDifferences: new Map([
    // QEMU 7.2's daif_check() passes op2 and op1 to syn_aa64_sysregtrap() swapped, so the trapped MSR DAIFSet
    // reports Op1=6, Op2=3; the architecture (ESR_ELx ISS for EC 0x18) has Op2 = 0b110 in [19:17], Op1 = 0b011 in [16:14].
    ['EL0 msr daifset (UMA=0): EC=0x18 IL=1 ISS=0xcd3e4 from=kind8', 'EL0 msr daifset (UMA=0): EC=0x18 IL=1 ISS=0x793e4 from=kind8'],
    // With SCTLR_EL1.M = 0 data accesses are Device-nGnRnE, and DC ZVA to any type of Device memory takes an Alignment
    // fault (Arm ARM); QEMU 7.2 does not check the memory type and zeroes the block. (The guest's DZE=1 check itself runs
    // with the MMU on, on Normal memory.)
    ['EL0 dc zva (DZE=1, MMU off): EC=0x24 IL=1 ISS=0x61 from=kind8', 'EL0 dc zva (DZE=1, MMU off): no exception, returned 0x0'],
  ]),
});
