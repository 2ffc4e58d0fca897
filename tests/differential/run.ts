/**
 * Drives a differential run: generates batches of cases for a class, runs
 * each case on the PE (steering memory addresses, dropping the rare block
 * that loops), runs the batch in one QEMU process while the next batch is
 * generated, and compares.
 */
import assert from 'node:assert/strict';
import type { PE } from '../../src/cpu/pe.js';
import { Generator, GenCase, GenClass } from './gen.js';
import { NvSide } from './nvside.js';
import { QemuHarness } from './qemu.js';
import { Case, Outcome, codeWords } from './protocol.js';
import { compareOutcomes, formatMismatch } from './compare.js';

export interface RunStats {
  cls: string;
  seed: number;
  cases: number;
  /** Instructions placed in blocks (cases x block length): the figure the CI minimum applies to. */
  insns: number;
  /** Instructions the PE retired (branches skip some; faults end blocks early). */
  retired: number;
  batches: number;
  /** Cases the PE ran into its budget with (looping blocks); not sent to QEMU. */
  dropped: number;
  /** Steering re-runs on the PE. */
  steered: number;
  /** Outcomes by kind (QEMU's view): 'ok', 'SIGSEGV', ... */
  outcomes: Record<string, number>;
  mismatches: number;
  /** The first `maxReports` mismatch reports. */
  reports: string[];
  /** Instructions generated per table definition. */
  perDef: Map<string, number>;
  /** Definitions of the class in the table (with the PE's features). */
  defs: string[];
  ms: number;
}

export interface RunOptions {
  seed: number;
  minInsns: number;
  batchCases?: number;
  maxReports?: number;
  log?: (s: string) => void;
  /** Runs of a block before nestvisor compiles it (PE.jitThreshold): 0 checks the compiled tier on every case. */
  jitThreshold?: number;
  /**
   * Which compiled tier: 'wasm' (WebAssembly only: blocks it cannot take stay on their closures) or
   * 'js' (JavaScript source only). Default: the PE's own choice.
   */
  tier?: 'wasm' | 'js';
}

const KIND: Record<number, string> = { 0: 'ok', 4: 'SIGILL', 5: 'SIGTRAP', 7: 'SIGBUS', 11: 'SIGSEGV' };

interface Batch {
  no: number;
  first: number;
  pristine: Uint8Array;
  cases: Case[];
  nv: Outcome[];
  qemu: Promise<{ outcomes: Outcome[] }>;
}

/** Makes `pe` compile with one tier only (see RunOptions.tier). */
export function useTier(pe: PE, tier: 'wasm' | 'js'): void {
  if (tier === 'wasm') {
    assert.ok(pe.wasmTier, 'the WebAssembly tier is available');
    pe.jsThreshold = Infinity;
  } else {
    pe.wasmTier = false;
    pe.jsThreshold = pe.jitThreshold;
  }
}

export async function runClass(cls: GenClass, qemu: QemuHarness, opts: RunOptions): Promise<RunStats> {
  const t0 = Date.now();
  const nv = new NvSide(qemu.tramp);
  if (opts.jitThreshold !== undefined) nv.pe.jitThreshold = opts.jitThreshold;
  if (opts.tier !== undefined) useTier(nv.pe, opts.tier);
  const gen = new Generator(nv.pe.decoder, cls, opts.seed);
  const batchCases = opts.batchCases ?? 4000;
  const maxReports = opts.maxReports ?? 10;
  const st: RunStats = {
    cls, seed: opts.seed, cases: 0, insns: 0, retired: 0, batches: 0, dropped: 0, steered: 0, outcomes: {}, mismatches: 0,
    reports: [], perDef: gen.perDef, defs: gen.defs.map((c) => c.def.name), ms: 0,
  };
  if (gen.defs.length === 0) return st;

  let pending: Batch | null = null;
  let planned = 0;
  let caseNo = 0;
  for (let no = 0; ; no++) {
    let next: Batch | null = null;
    // Until both the placed and the retired (PE-executed) instruction counts reach the minimum
    // (forward branches skip instructions), with a cap for classes whose blocks mostly fault.
    const more = planned < opts.minInsns || (st.retired < opts.minInsns && planned < 4 * opts.minInsns);
    if (more) {
      const pristine = gen.newPristine();
      nv.setPristine(pristine);
      const cases: Case[] = [];
      const outs: Outcome[] = [];
      const first = caseNo;
      while (cases.length < batchCases && (planned < opts.minInsns || (st.retired < opts.minInsns && planned < 4 * opts.minInsns))) {
        const c = gen.genCase() as GenCase;
        let out = runCounted(nv, c, st);
        for (let round = 0; round < 3 && gen.steer(c, out); round++) {
          st.steered++;
          out = runCounted(nv, c, st);
        }
        if (out.other !== undefined && out.other.includes('(loop)')) {
          st.dropped++;
          continue;
        }
        cases.push(c);
        outs.push(out);
        planned += c.insns;
        caseNo++;
      }
      next = { no, first, pristine, cases, nv: outs, qemu: qemu.run(pristine, cases) };
      // Keep an unobserved rejection from crashing the process before we await it.
      next.qemu.catch(() => {});
    }
    if (pending !== null) await check(pending, st, gen, cls, opts, maxReports);
    if (next === null) break;
    pending = next;
  }
  st.ms = Date.now() - t0;
  return st;
}

function runCounted(nv: NvSide, c: Case, st: RunStats): Outcome {
  const before = nv.pe.icount;
  const out = nv.run(c);
  // Exceptions retire nothing; the B to the epilogue is not the block's.
  st.retired += Math.max(0, nv.pe.icount - before - (out.sig === 0 && out.other === undefined ? 1 : 0));
  return out;
}

async function check(b: Batch, st: RunStats, gen: Generator, cls: string, opts: RunOptions, maxReports: number): Promise<void> {
  const { outcomes } = await b.qemu;
  st.batches++;
  for (let i = 0; i < b.cases.length; i++) {
    const c = b.cases[i], q = outcomes[i], n = b.nv[i];
    st.cases++;
    st.insns += c.insns;
    const kind = KIND[q.sig] ?? `signal ${q.sig}`;
    st.outcomes[kind] = (st.outcomes[kind] ?? 0) + 1;
    const diffs = compareOutcomes(b.pristine, q, n);
    if (diffs.length === 0) continue;
    st.mismatches++;
    if (st.reports.length < maxReports) {
      const r = formatMismatch({ cls, seed: opts.seed, batch: b.no, index: b.first + i, dec: gen.dec }, c, codeWords(c), b.pristine, q, n, diffs);
      st.reports.push(r);
      opts.log?.(r);
    }
  }
}

/** Runs fixed cases (the corpus) in one batch; returns the mismatch reports. */
export async function runCases(qemu: QemuHarness, cases: Case[], pristine: Uint8Array, label: string): Promise<{ reports: string[]; outcomes: Outcome[]; nv: Outcome[] }> {
  const nv = new NvSide(qemu.tramp);
  nv.setPristine(pristine);
  const outs = cases.map((c) => nv.run(c));
  const { outcomes } = await qemu.run(pristine, cases);
  const reports: string[] = [];
  cases.forEach((c, i) => {
    const diffs = compareOutcomes(pristine, outcomes[i], outs[i]);
    if (diffs.length > 0) reports.push(formatMismatch({ cls: label, seed: 0, batch: 0, index: i, dec: nv.pe.decoder }, c, codeWords(c), pristine, outcomes[i], outs[i], diffs));
  });
  return { reports, outcomes, nv: outs };
}

/** A one-line summary of a run. */
export function summary(st: RunStats): string {
  const kinds = Object.entries(st.outcomes).map(([k, v]) => `${k} ${v}`).join(', ');
  return `[${st.cls}] seed ${st.seed}: ${st.insns} instructions in ${st.cases} cases (${st.retired} retired on the PE), ${st.batches} QEMU batches, ` +
    `${st.defs.length} definitions, outcomes: ${kinds}; steered ${st.steered}, dropped ${st.dropped} looping; ${st.mismatches} mismatches; ${(st.ms / 1000).toFixed(1)} s`;
}
