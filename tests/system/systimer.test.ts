/** The EL1 generic timers: ISTATUS, ENABLE, IMASK, CVAL and TVAL (guest tests/guests/systimer). */
import { compareGuest } from './compare.js';

compareGuest('systimer');
