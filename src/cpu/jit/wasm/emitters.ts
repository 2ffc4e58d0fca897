/** Every instruction emitter of the WebAssembly tier, by instruction definition name (insn/table.ts). */
import type { Fields } from '../../decoder.js';
import type { EmitSite } from '../emit.js';
import type { WasmBlock } from './block.js';
import { branchEmitters } from './emit_branch.js';
import { dpEmitters } from './emit_dp.js';
import { ldstEmitters } from './emit_ldst.js';
import { systemEmitters } from './emit_system.js';

/**
 * A PC-relative branch: `pre` runs first (BL's link), then PC becomes the
 * block's page base + `delta` when the condition `cond` pushes holds (null:
 * always). The compiler turns a branch back to the block's own start into a loop.
 */
export interface WasmBranch {
  readonly pre: (() => void) | null;
  readonly cond: (() => void) | null;
  readonly delta: number;
}

/**
 * Writes one instruction into the block's function. Returns true when
 * written, a WasmBranch for a PC-relative branch (written by the compiler),
 * 'exit' when the code written leaves the block itself (BR, BLR, RET), or
 * false when the instruction stays with its closure (whatever the emitter
 * wrote is then discarded).
 */
export type WasmEmitter = (c: WasmBlock, f: Fields, s: EmitSite) => boolean | WasmBranch | 'exit';

export function wasmEmitters(): Map<string, WasmEmitter> {
  return new Map(Object.entries({ ...dpEmitters, ...branchEmitters, ...ldstEmitters, ...systemEmitters }));
}
