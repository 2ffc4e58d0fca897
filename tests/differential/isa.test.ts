/**
 * Differential tests of the A64 instructions against QEMU (see
 * tests/differential/README.md): for each instruction class, random blocks
 * drawn from the instruction table run on nestvisor's PE and in
 * tests/guests/diffharness under qemu-aarch64; every register, the flags, the
 * data area and the fault outcome must agree. Then the hand-picked corpus.
 *
 * Environment: DIFF_SEED (default: random, printed), DIFF_INSNS (instructions
 * per class, default 150000; at least 100000 in CI), QEMU_AARCH64 (the
 * binary; default qemu-aarch64 on PATH), CI=true (a missing QEMU fails).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GEN_CLASSES } from './gen.js';
import { QemuHarness, findQemu } from './qemu.js';
import { runCases, runClass, summary } from './run.js';
import { buildCorpus, corpusPristine } from './corpus.js';
import { NvSide } from './nvside.js';

const CI = process.env.CI === 'true';
const SEED = Number(process.env.DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MIN_INSNS = Math.max(Number(process.env.DIFF_INSNS ?? 150_000), CI ? 100_000 : 0);
const qemuBin = findQemu();
const MISSING = 'qemu-aarch64 not found (install qemu-user, or set QEMU_AARCH64): differential tests against QEMU not run';

let harness: Promise<QemuHarness> | null = null;
function getHarness(): Promise<QemuHarness> {
  if (harness === null) {
    const h = new QemuHarness(qemuBin!);
    harness = h.init().then(() => h);
  }
  return harness;
}

/** Returns the harness, or null after skipping (or failing, in CI) when QEMU is missing. */
async function needQemu(t: import('node:test').TestContext): Promise<QemuHarness | null> {
  if (qemuBin === null) {
    if (CI) assert.fail(`${MISSING} (CI=true requires them)`);
    console.log(`SKIPPED: ${MISSING}`);
    t.skip(MISSING);
    return null;
  }
  return getHarness();
}

for (const cls of GEN_CLASSES) {
  test(`${cls}: nestvisor agrees with QEMU on random blocks from the table`, async (t) => {
    const qemu = await needQemu(t);
    if (qemu === null) return;
    const st = await runClass(cls, qemu, { seed: SEED, minInsns: MIN_INSNS, maxReports: 8 });
    if (st.defs.length === 0) {
      t.skip(`no ${cls} instructions in the table yet`);
      return;
    }
    t.diagnostic(summary(st));
    const never = st.defs.filter((d) => !st.perDef.has(d));
    if (never.length > 0) t.diagnostic(`never generated (no allocated encoding found): ${never.join(' ')}`);
    if (st.mismatches > 0) {
      assert.fail(`${st.mismatches} of ${st.cases} ${cls} cases differ from QEMU (seed ${SEED}; rerun with DIFF_SEED=${SEED}). First ones:\n\n${st.reports.join('\n\n')}`);
    }
    assert.ok(st.insns >= MIN_INSNS, `only ${st.insns} instructions generated`);
  });
}

// The same comparison with every block compiled on its first run, by each compiled tier (src/cpu/jit: JavaScript
// source; src/cpu/jit/wasm: WebAssembly) for the classes that have emitters: each must agree with QEMU as the closures do.
const JIT_CLASSES = ['dp-imm', 'dp-reg', 'branch', 'ldst', 'ldst-excl'] as const;
const JIT_INSNS = Math.max(Math.floor(MIN_INSNS / 3), CI ? 50_000 : 0);
for (const tier of ['js', 'wasm'] as const) {
  for (const cls of JIT_CLASSES) {
    test(`${cls}: blocks compiled to ${tier === 'js' ? 'JavaScript' : 'WebAssembly'} agree with QEMU on random blocks from the table`, async (t) => {
    const qemu = await needQemu(t);
    if (qemu === null) return;
    const st = await runClass(cls, qemu, { seed: SEED + 1, minInsns: JIT_INSNS, maxReports: 8, jitThreshold: 0, tier });
    t.diagnostic(summary(st));
    if (st.mismatches > 0) {
      assert.fail(`${st.mismatches} of ${st.cases} ${cls} cases differ from QEMU in compiled blocks (seed ${SEED}; rerun with DIFF_SEED=${SEED}). First ones:\n\n${st.reports.join('\n\n')}`);
    }
    assert.ok(st.insns >= JIT_INSNS, `only ${st.insns} instructions generated`);
    });
  }
}

test('corpus: hand-picked edge cases agree with QEMU', async (t) => {
  const qemu = await needQemu(t);
  if (qemu === null) return;
  const nv = new NvSide(qemu.tramp);
  const { cases, skipped } = buildCorpus(nv.pe.decoder);
  for (const s of skipped) t.diagnostic(`corpus entry skipped: ${s}`);
  if (skipped.length > 0) console.log(`corpus: ${skipped.length} entries skipped (definitions missing or not decodable):\n  ${skipped.join('\n  ')}`);
  const { reports } = await runCases(qemu, cases, corpusPristine(), 'corpus');
  t.diagnostic(`corpus: ${cases.length} cases, ${skipped.length} skipped, ${reports.length} mismatches`);
  if (reports.length > 0) assert.fail(`${reports.length} of ${cases.length} corpus cases differ from QEMU. First ones:\n\n${reports.slice(0, 12).join('\n\n')}`);
});
