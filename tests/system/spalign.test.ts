/** SP alignment checking, SCTLR_EL1.SA and SA0 (guest tests/guests/spalign). */
import { compareGuest } from './compare.js';

compareGuest('spalign', {
  // QEMU's TCG does not implement SP alignment checking (SCTLR_ELx.SA/SA0 are ignored): it prints "no fault"
  // everywhere, so only the expected output, written from the architecture, judges this guest.
  qemuSkip: 'QEMU (TCG) does not implement SCTLR_ELx.SA/SA0 stack alignment checks',
});
