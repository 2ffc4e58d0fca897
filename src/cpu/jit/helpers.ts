/**
 * Functions generated code calls (as `H.name`): small, monomorphic, so that
 * V8 inlines them into the compiled block.
 */
export { umulHi } from '../insn/alu.js';
