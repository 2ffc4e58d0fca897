/**
 * Loads and stores as generated source: the TLB fast path of the PE's ld/st
 * methods written inline (a hit on an aligned access inside one page is a
 * couple of typed-array reads). Anything else (a miss, MMIO, an unaligned
 * or page-crossing access, a fault) leaves the compiled block with
 * `return k` before the instruction has any effect, and the run loop
 * finishes the block with the closures from instruction k on.
 *
 * Why not call the slow path from the compiled code: a path V8 has never
 * seen run has no type feedback, and the first time it runs the optimized
 * block is thrown away (a deoptimization) and later recompiled. A return of
 * a constant needs no feedback.
 */
import { TLB_MASK } from '../tlb.js';

/**
 * The rest of a fast-path test for an access of 1 << size bytes at `a` in TLB
 * slot `i`: inside the page, and aligned if the page is Device memory.
 */
function alignFast(size: number, a: string, i: string): string {
  if (size === 0) return '';
  const bytes = 1 << size;
  return ` && (${a} & 4095) <= ${4096 - bytes} && (${a} & ${bytes - 1} & t.dev[${i}]) === 0`;
}

/** The TLB hit test for an access of 1 << size bytes at VA (a, ah) in slot i of TLB `t` (names of locals). */
export function tlbHit(write: boolean, size: number, a = 'a', ah = 'ah', i = 'i'): string {
  const tag = write ? 'w' : 'r';
  return `t.${tag}Tag[${i}] === ((${a} >>> 12) | (${ah} << 20)) && t.${tag}TagHi[${i}] === (${ah} >>> 12)${alignFast(size, a, i)}`;
}

/** Reads 1 << size bytes at offset `o` of TLB slot i's page into `vl` (and `vh` for size 3). */
function read(size: number, vl: string, vh: string, i = 'i', o = 'o'): string {
  switch (size) {
    case 0: return `${vl} = t.bytes[${i}][${o}];`;
    case 1: return `${vl} = t.view[${i}].getUint16(${o}, true);`;
    case 2: return `${vl} = t.view[${i}].getInt32(${o}, true);`;
    default: return `{ const w = t.view[${i}]; ${vl} = w.getInt32(${o}, true); ${vh} = w.getInt32(${o} + 4, true); }`;
  }
}

/** Writes 1 << size bytes of (vl, vh) at offset `o` of TLB slot i's page, and clears an exclusive monitor on it. */
function write(size: number, vl: string, vh: string, i = 'i', o = 'o'): string {
  let s: string;
  switch (size) {
    case 0: s = `t.bytes[${i}][${o}] = ${vl};`; break;
    case 1: s = `t.view[${i}].setUint16(${o}, ${vl}, true);`; break;
    case 2: s = `t.view[${i}].setInt32(${o}, ${vl}, true);`; break;
    default: s = `{ const w = t.view[${i}]; w.setInt32(${o}, ${vl}, true); w.setInt32(${o} + 4, ${vh}, true); }`;
  }
  return s;
}

/**
 * A store to the page of an armed exclusive monitor leaves for the closure,
 * which clears the monitor (PE.touchExclusive); Math.floor(-1 / 4096) keeps
 * an open monitor (exclPa = -1) from matching any page.
 */
const exclusiveCheck = (k: number, i: string): string => `if (Math.floor(pe.exclPa / 4096) * 4096 === t.pa[${i}]) return ${k};`;

/**
 * Loads 1 << size bytes from VA (a, ah) (locals: a uint32, ah any 32-bit
 * form) into the caller's `let` locals `vl` (bits 31:0; zero-extended for
 * sizes 0 and 1, int32 otherwise) and, for size 3, `vh`; leaves the block
 * with `return k` unless the TLB hits.
 */
export function emitLoad(size: number, k: number, vl = 'vl', vh = 'vh'): string {
  return `{ const t = pe.tlb, i = (a >>> 12) & ${TLB_MASK}; if (!(${tlbHit(false, size)})) return ${k}; const o = t.off[i] + (a & 4095); ${read(size, vl, vh)} }`;
}

/** Stores 1 << size bytes of (vl, vh) (expressions; vh for size 3 only) to VA (a, ah), or leaves with `return k`. */
export function emitStore(size: number, k: number, vl: string, vh = '0'): string {
  return `{ const t = pe.tlb, i = (a >>> 12) & ${TLB_MASK}; if (!(${tlbHit(true, size)})) return ${k}; ${exclusiveCheck(k, 'i')} const o = t.off[i] + (a & 4095); ${write(size, vl, vh)} }`;
}

/**
 * Stores two elements of 1 << size bytes at (a1, ah1) and (a2, ah2): both
 * must hit before either is written, so that leaving for the slow path never
 * repeats a store.
 */
export function emitStorePair(size: number, k: number, v1: string, v1h: string, v2: string, v2h: string): string {
  let s = '{ const t = pe.tlb, i1 = (a1 >>> 12) & ${TLB_MASK}, i2 = (a2 >>> 12) & ${TLB_MASK};';
  s += `if (!(${tlbHit(true, size, 'a1', 'ah1', 'i1')}) || !(${tlbHit(true, size, 'a2', 'ah2', 'i2')})) return ${k};`;
  s += `${exclusiveCheck(k, 'i1')} ${exclusiveCheck(k, 'i2')}`;
  s += `const o1 = t.off[i1] + (a1 & 4095), o2 = t.off[i2] + (a2 & 4095); ${write(size, v1, v1h, 'i1', 'o1')} ${write(size, v2, v2h, 'i2', 'o2')} }`;
  return s;
}

/** Loads two elements (see emitStorePair); loads have no effect until the registers are written, so each may leave. */
export function emitLoadPair(size: number, k: number): string {
  let s = '{ const t = pe.tlb, i1 = (a1 >>> 12) & ${TLB_MASK}, i2 = (a2 >>> 12) & ${TLB_MASK};';
  s += `if (!(${tlbHit(false, size, 'a1', 'ah1', 'i1')}) || !(${tlbHit(false, size, 'a2', 'ah2', 'i2')})) return ${k};`;
  s += `const o1 = t.off[i1] + (a1 & 4095), o2 = t.off[i2] + (a2 & 4095); ${read(size, 'v1', 'v1h', 'i1', 'o1')} ${read(size, 'v2', 'v2h', 'i2', 'o2')} }`;
  return s;
}

/**
 * Loads (or stores) SIMD&FP register `vt` from (to) VA (a, ah): 1 << size
 * bytes, size 2 (S), 3 (D) or 4 (Q); a load clears the rest of the 128-bit
 * register. Leaves with `return k` unless the TLB hits.
 */
export function emitVectorAccess(load: boolean, size: number, vt: number, k: number): string {
  const words = 1 << (size - 2);
  let s = `{ const t = pe.tlb, i = (a >>> 12) & ${TLB_MASK}; if (!(${tlbHit(!load, size)})) return ${k}; `;
  if (!load) s += `${exclusiveCheck(k, 'i')} `;
  s += 'const o = t.off[i] + (a & 4095), w = t.view[i], v = pe.v32;';
  for (let j = 0; j < 4; j++) {
    if (load) s += j < words ? ` v[${4 * vt + j}] = w.getInt32(o + ${4 * j}, true);` : ` v[${4 * vt + j}] = 0;`;
    else if (j < words) s += ` w.setInt32(o + ${4 * j}, v[${4 * vt + j}], true);`;
  }
  return s + ' }';
}
