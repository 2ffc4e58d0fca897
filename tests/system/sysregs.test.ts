/** MRS/MSR of the EL1 and PSTATE registers, ID facts, DC ZVA, cache maintenance (guest tests/guests/sysregs). */
import { compareGuest } from './compare.js';

compareGuest('sysregs');
