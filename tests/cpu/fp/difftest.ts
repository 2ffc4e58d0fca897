/** The driver shared by the differential test files: generate, run both sides, compare, report. */
import type { TestContext } from 'node:test';
import type assertNs from 'node:assert/strict';
import { Decoder, InsnDef } from '../../../src/cpu/decoder.js';
import { fpScalarInsns } from '../../../src/cpu/insn/fp_scalar.js';
import { simdFpInsns } from '../../../src/cpu/insn/simd_fp.js';
import { Group, REC, Rng, compare, guessFmt, makeRecords, randomWords, runNv, runQemu, unavailable } from './fpcheck.js';

export const decoder = new Decoder([...fpScalarInsns, ...simdFpInsns], new Set(['fp', 'fp16']));

export function disasmWord(w: number): string {
  const d = decoder.decode(w);
  return d === null ? `<undecoded 0x${(w >>> 0).toString(16)}>` : d.c.def.disasm(d.fields, 0n);
}

/** Families for the summary: the mnemonic part of a def name. */
const family = (name: string): string => name.replace(/_(f|fh|h|vh|v|asisd|elem|fix|gen|imm|zero).*$/, '');

/**
 * Known deviations of qemu-aarch64 (7.2) from the Arm ARM, undone in QEMU's
 * output before comparing:
 * - FCVTZS Hd, Hn, #fbits (scalar, fixed point, half precision) writes the
 *   16-bit result sign-extended to 32 bits; the architecture writes 16 bits
 *   and zeroes the rest of the register (V[d] = result).
 */
function qemuQuirks(groups: readonly Group[], q: Buffer): void {
  let base = 0;
  for (const g of groups) {
    if (g.name === 'FCVTZS_fix_asisd_h') {
      const rd = g.word & 31;
      for (let k = 0; k < g.count; k++) {
        const o = base + k * REC + 16 * rd;
        const w = q.readUInt32LE(o);
        if (w >>> 15 === 0x1ffff) q.writeUInt32LE(w & 0xffff, o);
      }
    }
    base += g.count * REC;
  }
}

export function runDifferential(t: TestContext, defs: readonly InsnDef[], seed: number, assert: typeof assertNs): void {
  const why = unavailable();
  if (why !== null) {
    if (process.env.CI === 'true') assert.fail(`differential FP test cannot run under CI: ${why}`);
    t.skip(why);
    return;
  }
  const scale = Number(process.env.FPCHECK_SCALE ?? '4');
  const words = Math.max(1, Math.round(12 * Math.sqrt(scale)));
  const per = Math.max(1, Math.round(250 * Math.sqrt(scale)));
  const r = new Rng(seed ^ Number(process.env.FPCHECK_SEED ?? 0));
  const groups: Group[] = [];
  for (const def of defs) {
    for (const w of randomWords(def, r, words)) {
      const d = decoder.decode(w);
      assert.ok(d !== null && d.c.def === def, `${def.name}: 0x${w.toString(16)} decodes as ${d?.c.def.name}`);
      const fmt = guessFmt(def.disasm(d.fields, 0n));
      groups.push({ word: w, name: def.name, input: makeRecords(r, fmt, per), count: per });
    }
  }
  // Batches of about 100k records per QEMU process.
  let total = 0, mismatches = 0;
  const texts: string[] = [];
  const perFamily = new Map<string, number>();
  const badFamily = new Map<string, number>();
  for (let i = 0; i < groups.length; ) {
    const batch: Group[] = [];
    let n = 0;
    while (i < groups.length && n < 100_000) {
      batch.push(groups[i]);
      n += groups[i].count;
      i++;
    }
    const q = runQemu(batch);
    qemuQuirks(batch, q);
    const nv = runNv(decoder, batch);
    const res = compare(batch, q, nv, disasmWord);
    total += n;
    mismatches += res.count;
    texts.push(...res.texts);
    for (const g of batch) perFamily.set(family(g.name), (perFamily.get(family(g.name)) ?? 0) + g.count);
    for (const [name, c] of res.byName) badFamily.set(name, (badFamily.get(name) ?? 0) + c);
  }
  t.diagnostic(`${total} cases (${REC}-byte records), ${groups.length} encodings, ${mismatches} mismatches`);
  t.diagnostic(`cases per family: ${[...perFamily].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (mismatches > 0) {
    t.diagnostic(`mismatching defs: ${[...badFamily].map(([k, v]) => `${k}=${v}`).join(' ')}`);
    assert.fail(`${mismatches} of ${total} cases differ from QEMU:\n${texts.slice(0, 40).join('\n')}`);
  }
}
