/** Every instruction emitter of the source tier, by instruction definition name (insn/table.ts). */
import type { Emitter } from './emit.js';
import { branchEmitters } from './emit_branch.js';
import { dpEmitters } from './emit_dp.js';
import { ldstEmitters } from './emit_ldst.js';

export function jitEmitters(): Map<string, Emitter> {
  // HINT and BARRIER: the hints and barriers without an effect here (as jit/wasm/emit_system.ts).
  return new Map(Object.entries({ ...dpEmitters, ...branchEmitters, ...ldstEmitters, HINT: () => '', BARRIER: () => '' }));
}
