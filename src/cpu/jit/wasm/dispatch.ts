/**
 * The dispatcher of a PE's WebAssembly blocks: one exported function,
 *   run(index, lo, hi, tlb, limit, exclPage) -> code,
 * that calls table entry `index` (a block function, wasm/block.ts) and then
 * goes on from block to block without returning to JavaScript while it
 * can: the block left with a PC (through PE.branchTo only when the address
 * is canonical, which branchTo leaves unchanged), aligned, whose page the
 * current TLB holds for execution (PE.lookupBlock's hit path, on the TLB
 * arrays in the arena), the block at that physical address is in the tier
 * (the chain cache, below), and the instructions retired stay below
 * `limit` (the run budget and timer deadline; 0 when the run loop must see
 * every block: an interrupt check pending, a trace hook). Nothing inside
 * WebAssembly can change a translation, raise an interrupt or invalidate
 * code, because all of that happens in JavaScript.
 *
 * The chain cache is a direct-mapped table by physical address (the run
 * loop's blockCache), CHAIN_ENTRIES entries of { pa: int64, index: int32 },
 * kept by wasm/compile.ts: an entry is written when a block is compiled and
 * cleared when it is dropped.
 *
 * The run loop learns from the scratch area what happened: CHAINED (the
 * instructions the blocks before the last retired, and every loop's
 * iterations), LAST_IDX and LAST_LO (the last block and its VA); `code` is
 * the last block's own result.
 */
import { CodeWriter, T, W, moduleBytes } from './encoder.js';
import { TLB_MASK, TlbLayout } from '../../tlb.js';
import { BLOCK_PARAMS, BLOCK_RESULTS, RET_BRANCH_TO, RET_PC, Scratch } from './block.js';

export const CHAIN_ENTRIES = 4096;
export const CHAIN_BYTES = 16 * CHAIN_ENTRIES;

// Parameters and locals of run().
const P_IDX = 0, P_LO = 1, P_HI = 2, P_TLB = 3, P_LIMIT = 4, P_EXCL = 5;
const L_R = 6, L_TOTAL = 7, L_NEXT = 8, L_NLO = 9, L_ENTRY = 10, L_NHI = 11, L_SLOT = 12, L_PA = 13;

/** The dispatcher module for a PE whose scratch area and chain cache are at these arena offsets; it exports "run" and its table "t". */
export function dispatcherBytes(scratch: number, cache: number, tableSize: number): Uint8Array<ArrayBuffer> {
  const c = new CodeWriter();
  c.op(W.block, T.void, W.loop, T.void);
  // scratch.ICOUNT = 0; r = table[idx](lo, hi, tlb, limit - total, excl); total += scratch.ICOUNT
  c.i32(0).i32(0).mem(W.i32_store, 2, scratch + Scratch.ICOUNT);
  c.get(P_LO).get(P_HI).get(P_TLB).get(P_LIMIT).get(L_TOTAL).op(W.i32_sub).get(P_EXCL).get(P_IDX);
  c.op(W.call_indirect, 0, 0).set(L_R);
  c.get(L_TOTAL).i32(0).mem(W.i32_load, 2, scratch + Scratch.ICOUNT).op(W.i32_add).set(L_TOTAL);
  // Only an exit with a PC chains (RET_PC and RET_BRANCH_TO share bit 8).
  c.get(L_R).i32(RET_PC).op(W.i32_and, W.i32_eqz, W.br_if, 1);
  // The budget.
  c.get(L_TOTAL).get(L_R).i32(0xff).op(W.i32_and, W.i32_add).tee(L_NEXT).get(P_LIMIT).op(W.i32_ge_s, W.br_if, 1);
  c.i32(0).mem(W.i32_load, 2, scratch + Scratch.PC + 4).set(L_NHI);
  // PE.branchTo leaves a canonical address (bits 63:56 copies of bit 55) as it is; any other goes to the run loop.
  c.get(L_R).i32(RET_BRANCH_TO & ~RET_PC).op(W.i32_and, W.if, T.void);
  c.get(L_NHI).i32(23).op(W.i32_shr_s).i32(1).op(W.i32_add).i32(1).op(W.i32_gt_u, W.br_if, 2, W.end);
  // An aligned PC whose page the current TLB has for execution (PE.lookupBlock's hit path).
  c.i32(0).mem(W.i32_load, 2, scratch + Scratch.PC).tee(L_NLO).i32(3).op(W.i32_and, W.br_if, 1);
  c.get(L_NLO).i32(12).op(W.i32_shr_u).i32(TLB_MASK).op(W.i32_and).i32(2).op(W.i32_shl).get(P_TLB).op(W.i32_add).tee(L_SLOT);
  c.mem(W.i32_load, 2, TlbLayout.X_TAG).get(L_NLO).i32(12).op(W.i32_shr_u).get(L_NHI).i32(20).op(W.i32_shl, W.i32_or, W.i32_ne, W.br_if, 1);
  c.get(L_SLOT).mem(W.i32_load, 2, TlbLayout.X_TAG_HI).get(L_NHI).i32(12).op(W.i32_shr_u, W.i32_ne, W.br_if, 1);
  // pa = the entry's page PA (float64 at tlb + PA + 8i = 2 * slot - tlb + PA) + the offset.
  c.get(L_SLOT).get(L_SLOT).op(W.i32_add).get(P_TLB).op(W.i32_sub).mem(W.f64_load, 3, TlbLayout.PA);
  c.op(W.i64_trunc_f64_u).get(L_NLO).i32(4092).op(W.i32_and, W.i64_extend_i32_u, W.i64_add).tee(L_PA);
  // The chain cache entry for pa.
  c.i64(2).op(W.i64_shr_u, W.i32_wrap_i64).i32(CHAIN_ENTRIES - 1).op(W.i32_and).i32(4).op(W.i32_shl).tee(L_ENTRY);
  c.mem(W.i64_load, 3, cache).get(L_PA).op(W.i64_ne, W.br_if, 1);
  c.get(L_ENTRY).mem(W.i32_load, 2, cache + 8).set(P_IDX);
  c.get(L_NEXT).set(L_TOTAL).get(L_NLO).set(P_LO).get(L_NHI).set(P_HI).op(W.br, 0);
  c.op(W.end, W.end);
  c.i32(0).get(L_TOTAL).mem(W.i32_store, 2, scratch + Scratch.CHAINED);
  c.i32(0).get(P_IDX).mem(W.i32_store, 2, scratch + Scratch.LAST_IDX);
  c.i32(0).get(P_LO).mem(W.i32_store, 2, scratch + Scratch.LAST_LO);
  c.i32(0).get(P_HI).mem(W.i32_store, 2, scratch + Scratch.LAST_HI);
  c.get(L_R).op(W.end);
  // Type 0 is the blocks' (call_indirect names it), type 1 run's.
  return moduleBytes({ types: [[BLOCK_PARAMS, BLOCK_RESULTS], [[T.i32, ...BLOCK_PARAMS], BLOCK_RESULTS]], funcs: [{ type: 1, locals: [[7, T.i32], [1, T.i64]], code: c.code }], table: tableSize });
}
