/** MRS/MSR of the EL1 and PSTATE registers, ID facts, DC ZVA, cache maintenance (guest tests/guests/sysregs). */
import { compareGuest } from './compare.js';

compareGuest('sysregs', {
  knownQemuDifferences: new Map([
    // With SCTLR_EL1.M = 0 data accesses are Device-nGnRnE, and DC ZVA to any type of Device memory takes an Alignment
    // fault (Arm ARM); QEMU 7.2 does not check the memory type and zeroes the block. (The guest's DC ZVA check itself
    // runs with the MMU on, on Normal memory.)
    [
      'dc zva with the MMU off (Device-nGnRnE): EC=0x25 ISS=0x61 FAR ok, block kept',
      'dc zva with the MMU off (Device-nGnRnE): no exception, block changed',
    ],
  ]),
});
