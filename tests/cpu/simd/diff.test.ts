/**
 * Differential tests of the Advanced SIMD groups against QEMU (see
 * simdcheck.ts): batches of random encodings of every definition of each
 * group, with random V, X and memory contents, run on qemu-aarch64 (-cpu
 * cortex-a57) and on nestvisor; every V register, X register, SP, FPSR,
 * NZCV and changed data word must agree, and so must faults (a share of the
 * cases are encodings the definitions reject, which must be UNDEFINED on QEMU
 * too).
 *
 * SIMD_DIFF_ONLY restricts the definitions (a regular expression on names);
 * SIMD_DIFF_CASES scales the number of cases per group (default 1);
 * SIMD_DIFF_SEED picks the seed. Without qemu-aarch64 or the harness image the
 * tests are skipped, and fail when CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Case, Generator, NvSide, Outcome, Rng, SIMD_GROUPS, compare, findQemu, harnessPresent, runQemu, simdDecoder,
} from './simdcheck.js';

const CI = process.env.CI === 'true';
const SCALE = Number(process.env.SIMD_DIFF_CASES ?? '1');
const SEED = Number(process.env.SIMD_DIFF_SEED ?? '20240601');
const BATCH = 2000;
/** SIMD_DIFF_ONLY: a regular expression; only definitions whose name matches are generated. */
const ONLY = process.env.SIMD_DIFF_ONLY ? new RegExp(process.env.SIMD_DIFF_ONLY) : null;

/** Cases per group (times SCALE). */
const PLAN: Record<string, { cases: number; maxInsns: number; undefRate: number }> = {
  ldst: { cases: 12000, maxInsns: 1, undefRate: 0.05 },
  int: { cases: 30000, maxInsns: 3, undefRate: 0.03 },
  perm: { cases: 4000, maxInsns: 3, undefRate: 0.05 },
  crypto: { cases: 4000, maxInsns: 3, undefRate: 0.02 },
};

const qemu = findQemu();
const why = qemu === null ? 'qemu-aarch64 not found (set QEMU_AARCH64 or PATH)' : !harnessPresent() ? 'tests/guests/simdcheck/simdcheck.elf missing (bash tests/guests/build.sh simdcheck)' : '';

/**
 * The loads and stores again with every block compiled on its first run
 * (src/cpu/jit emits the S, D and Q register forms): the compiled tier must
 * agree with QEMU as the closures do.
 */
const RUNS: [string, { cases: number; maxInsns: number; undefRate: number }, boolean][] = [
  ...Object.entries(PLAN).map(([g, p]): [string, typeof p, boolean] => [g, p, false]),
  ['ldst', { ...PLAN.ldst, cases: 6000 }, true],
];

for (const [group, plan, compiled] of RUNS) {
  test(`SIMD differential vs QEMU: ${group}${compiled ? ' (compiled blocks)' : ''}`, { skip: why !== '' && !CI ? why : false, timeout: 1_800_000 }, async (t) => {
    if (why !== '') assert.fail(`CI=true but ${why}`);
    const dec = simdDecoder();
    const defs = SIMD_GROUPS[group].filter((d) => ONLY === null || ONLY.test(d.name));
    if (defs.length === 0) return;
    const gen = new Generator(dec, defs, new Rng(SEED ^ group.length * 7919), { maxInsns: plan.maxInsns, undefRate: plan.undefRate });
    assert.ok(gen.defs.length > 0, `group ${group} has no definitions`);
    const total = Math.round(plan.cases * SCALE);
    const { tramp } = await runQemu(qemu!, new Uint8Array(0x4000), []);
    const nv = new NvSide(tramp);
    if (compiled) {
      // The JavaScript tier (jit/emit_ldst.ts has the SIMD&FP loads and stores; the WebAssembly tier does not).
      nv.pe.wasmTier = false;
      nv.pe.jitThreshold = nv.pe.jsThreshold = 0;
    }
    const failures: string[] = [];
    let done = 0, faults = 0;
    while (done < total) {
      const n = Math.min(BATCH, total - done);
      const pristine = gen.newPristine();
      const cases: Case[] = [];
      for (let i = 0; i < n; i++) cases.push(gen.genCase());
      const q = await runQemu(qemu!, pristine, cases);
      nv.setPristine(pristine);
      for (let i = 0; i < n; i++) {
        const o: Outcome = nv.run(cases[i]);
        if (q.outcomes[i].sig !== 0) faults++;
        const errs = compare(q.outcomes[i], o);
        if (errs.length > 0 && failures.length < 20) failures.push(`case ${done + i}:\n  ${cases[i].text.join('\n  ')}\n  ${errs.slice(0, 8).join('\n  ')}`);
        else if (errs.length > 0) failures.push('');
      }
      done += n;
    }
    const names = [...gen.perDef.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    t.diagnostic(`${group}: ${done} cases, ${gen.defs.length} definitions, ${gen.undefCount} unallocated encodings, ${faults} faulting cases, ${failures.length} mismatches`);
    const missing = gen.defs.filter((c) => !gen.perDef.has(c.def.name)).map((c) => c.def.name);
    assert.deepEqual(missing, [], 'definitions never generated');
    void names;
    assert.equal(failures.length, 0, `${failures.length} mismatches:\n${failures.filter((f) => f).join('\n')}`);
  });
}
