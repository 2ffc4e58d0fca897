/** (placeholder; filled in by its group's work) */
import type { InsnDef } from '../decoder.js';

export const simdPermInsns: InsnDef[] = [];
