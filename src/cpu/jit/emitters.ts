/** Every instruction emitter of the source tier, by instruction definition name (insn/table.ts). */
import type { Emitter } from './emit.js';
import { branchEmitters } from './emit_branch.js';
import { dpEmitters } from './emit_dp.js';
import { ldstEmitters } from './emit_ldst.js';

export function jitEmitters(): Map<string, Emitter> {
  // HINT: the hints without an effect here (NOP, YIELD, PACIASP/AUTIASP and BTI without their features...).
  return new Map(Object.entries({ ...dpEmitters, ...branchEmitters, ...ldstEmitters, HINT: () => '' }));
}
