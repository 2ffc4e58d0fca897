/**
 * nestvisor's benchmark: runs the CPU-bound guests of tests/guests/bench-* (integer ones and FP/SIMD ones)
 * on nestvisor (in this process, runBareMetal) and under qemu-system-aarch64,
 * checks both printed the same result line, and prints speed and memory figures
 * against the targets (>= 50 MIPS, 100 stretch, on integer programs; peak RSS at
 * most 64 MiB beyond guest RAM; the FP/SIMD programs at least half the MIPS of
 * the integer programs); then the hypervisor round trips (bench/hyp.ts) and
 * the Linux boot to init against QEMU (bench/linux-boot.ts, when
 * `npm run fetch-guests` has cached the kernel).
 *
 *   npm run bench [-- options]
 *   node dist/bench/main.js [--only NAME] [--json[=FILE]] [--no-qemu] [--no-hyp] [--no-linux]
 *                           [--qemu PATH] [--qemu-runs N] [--ram MiB]
 *
 * Progress goes to stderr, one line per step. The table goes to stdout, or with
 * --json the results as JSON (to stdout, or to FILE with --json=FILE).
 * This is a benchmark, not a test: missing targets do not fail it; a guest that
 * does not power off, or results that differ between nestvisor and QEMU, do
 * (exit code 1).
 */
import { printHypBench, runHypBench } from './hyp.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBareMetal } from '../src/vmm/baremetal.js';
import { cpuModel } from '../src/cpu/features.js';
import { qemuVersion, runQemu } from './qemu.js';

const PROGRAMS = ['bench-sieve', 'bench-crc32', 'bench-sort', 'bench-matmul', 'bench-pmull'] as const;
/** FP/SIMD programs (double-precision FMLA; PMULL): their target is half the integer programs' MIPS. */
const FP_PROGRAMS: readonly string[] = ['bench-matmul', 'bench-pmull'];
const FP_TARGET_RATIO = 0.5;
const MIB = 1024 * 1024;
const TARGET_MIPS = 50;
const STRETCH_MIPS = 100;
const TARGET_RSS_BEYOND_RAM_MIB = 64;

interface Options {
  only?: string;
  /** Skip the hypervisor round-trip micro-benchmarks (bench/hyp.ts). */
  noHyp?: boolean;
  /** Skip the Linux boot-to-init benchmark (bench/linux-boot.ts). */
  noLinux?: boolean;
  json: boolean;
  jsonFile?: string;
  qemu: string;
  useQemu: boolean;
  qemuRuns: number;
  ramMiB: number;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, qemu: 'qemu-system-aarch64', useQemu: true, qemuRuns: 3, ramMiB: 64 };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') o.only = value(i++, a);
    else if (a === '--no-hyp') o.noHyp = true;
    else if (a === '--no-linux') o.noLinux = true;
    else if (a === '--json') o.json = true;
    else if (a.startsWith('--json=')) {
      o.json = true;
      o.jsonFile = a.slice('--json='.length);
    } else if (a === '--no-qemu') o.useQemu = false;
    else if (a === '--qemu') o.qemu = value(i++, a);
    else if (a === '--qemu-runs') o.qemuRuns = Math.max(1, parseInt(value(i++, a), 10) || 1);
    else if (a === '--ram') o.ramMiB = Math.max(1, parseInt(value(i++, a), 10) || 64);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node dist/bench/main.js [--only NAME] [--json[=FILE]] [--no-qemu] [--no-hyp] [--no-linux] [--qemu PATH] [--qemu-runs N] [--ram MiB]\n');
      process.exit(0);
    } else throw new UsageError(`unknown option '${a}'`);
  }
  return o;
}

const progress = (s: string): void => {
  process.stderr.write(`bench: ${s}\n`);
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The guest's result line: the first line starting with its name. */
function resultLine(name: string, output: string): string | undefined {
  return output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.startsWith(`${name}:`));
}

interface ProgramResult {
  name: string;
  insns: number;
  nestvisor: { exit: string; seconds: number; mips: number; result?: string; message?: string; rssMiB: number };
  qemu?: { ok: boolean; runs: number[]; seconds: number; netSeconds: number; mips: number; result?: string; message?: string };
  /** nestvisor seconds / QEMU seconds net of start-up. */
  ratio?: number;
  match?: boolean;
}

function main(): number {
  const opts = parseArgs(process.argv.slice(2));
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const guestPath = (name: string): string => join(root, 'tests', 'guests', name, `${name}.elf`);
  const names = opts.only ? PROGRAMS.filter((n) => n === opts.only || n === `bench-${opts.only}`) : [...PROGRAMS];
  if (names.length === 0) throw new UsageError(`--only: no program '${opts.only}' (known: ${PROGRAMS.join(', ')})`);
  for (const n of names)
    if (!existsSync(guestPath(n))) throw new UsageError(`${guestPath(n)} is missing (build it with: bash tests/guests/build.sh ${n})`);

  const ramSize = opts.ramMiB * MIB;
  const baselineRss = process.memoryUsage().rss;
  const host = `${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  progress(`host: ${host}; node ${process.version}; guest RAM ${opts.ramMiB} MiB; baseline RSS ${(baselineRss / MIB).toFixed(1)} MiB`);

  // QEMU: present? and its fixed start-up + shutdown cost with a trivial guest.
  let qemuVer: string | undefined;
  let qemuStartup: number | undefined;
  let qemuStartupRuns: number[] = [];
  let qemuNote: string | undefined;
  if (opts.useQemu) {
    qemuVer = qemuVersion(opts.qemu);
    if (!qemuVer) {
      qemuNote = `${opts.qemu} not found or not runnable: QEMU figures are skipped (install qemu-system-arm, or pass --qemu PATH)`;
      progress(qemuNote);
    } else {
      const hello = guestPath('hello');
      const runs = Math.max(5, opts.qemuRuns);
      progress(`QEMU start-up cost: ${runs} runs of tests/guests/hello/hello.elf (${qemuVer})`);
      for (let i = 0; i < runs; i++) {
        const r = runQemu(opts.qemu, hello);
        if (!r.ok) {
          qemuNote = `QEMU failed on hello.elf: ${r.message}; QEMU figures are skipped`;
          progress(qemuNote);
          qemuVer = undefined;
          break;
        }
        qemuStartupRuns.push(r.seconds);
      }
      if (qemuVer) {
        qemuStartup = median(qemuStartupRuns);
        progress(`QEMU start-up + shutdown: ${(qemuStartup * 1000).toFixed(1)} ms (median)`);
      }
    }
  } else qemuNote = 'QEMU skipped (--no-qemu)';

  const features = cpuModel('cortex-a57');
  const results: ProgramResult[] = [];
  let failed = false;
  for (const name of names) {
    const path = guestPath(name);
    const elf = readFileSync(path);
    progress(`${name}: running on nestvisor ...`);
    const nv = runBareMetal(elf, { ramSize, features, name: path });
    const nvResult = resultLine(name, nv.output);
    const rssMiB = process.memoryUsage().rss / MIB;
    const mips = nv.insns / nv.seconds / 1e6;
    progress(
      `${name}: nestvisor ${nv.exit}, ${nv.insns.toLocaleString('en-US')} instructions in ${nv.seconds.toFixed(3)} s = ${mips.toFixed(1)} MIPS; RSS ${rssMiB.toFixed(1)} MiB; ${nvResult ?? '(no result line)'}`,
    );
    const pr: ProgramResult = {
      name,
      insns: nv.insns,
      nestvisor: { exit: nv.exit, seconds: nv.seconds, mips, result: nvResult, message: nv.message, rssMiB },
    };
    if (nv.exit !== 'poweroff' || !nvResult) {
      progress(`${name}: nestvisor did not finish properly: ${nv.message ?? nv.exit}`);
      failed = true;
    }
    if (qemuVer && qemuStartup !== undefined) {
      const runs: number[] = [];
      let last;
      for (let i = 0; i < opts.qemuRuns; i++) {
        progress(`${name}: running under QEMU (${i + 1}/${opts.qemuRuns}) ...`);
        last = runQemu(opts.qemu, path);
        if (!last.ok) break;
        runs.push(last.seconds);
      }
      const qResult = last ? resultLine(name, last.output) : undefined;
      const seconds = runs.length ? median(runs) : NaN;
      const netSeconds = seconds - qemuStartup;
      const q = { ok: !!last?.ok, runs, seconds, netSeconds, mips: nv.insns / netSeconds / 1e6, result: qResult, message: last?.message };
      pr.qemu = q;
      pr.ratio = nv.seconds / netSeconds;
      pr.match = q.ok && nvResult !== undefined && qResult === nvResult;
      progress(
        q.ok
          ? `${name}: QEMU ${seconds.toFixed(3)} s (median of ${runs.length}), ${netSeconds.toFixed(3)} s net of start-up; ${qResult ?? '(no result line)'}`
          : `${name}: QEMU failed: ${q.message}`,
      );
      if (!pr.match) {
        progress(`${name}: RESULT MISMATCH: nestvisor '${nvResult}' vs QEMU '${qResult}'`);
        failed = true;
      }
    }
    results.push(pr);
  }

  // Memory: peak RSS of this process against the configured guest RAM. The
  // guest RAM ArrayBuffer is allocated lazily by the OS (untouched pages are
  // not resident), so "peak RSS - guest RAM" is a lenient reading; the peak
  // RSS itself is reported too.
  const maxRssKiB = process.resourceUsage().maxRSS;
  const peakMiB = maxRssKiB / 1024;
  const beyondRamMiB = peakMiB - opts.ramMiB;
  const totalInsns = results.reduce((s, r) => s + r.insns, 0);
  const totalNvSeconds = results.reduce((s, r) => s + r.nestvisor.seconds, 0);
  const overallMips = totalInsns / totalNvSeconds / 1e6;
  const intResults = results.filter((r) => !FP_PROGRAMS.includes(r.name));
  const fpResults = results.filter((r) => FP_PROGRAMS.includes(r.name));
  const minMips = Math.min(...intResults.map((r) => r.nestvisor.mips));
  const sumMips = (rs: ProgramResult[]): number => rs.reduce((s, r) => s + r.insns, 0) / rs.reduce((s, r) => s + r.nestvisor.seconds, 0) / 1e6;
  const intMips = intResults.length ? sumMips(intResults) : NaN;
  const fpMinMips = Math.min(...fpResults.map((r) => r.nestvisor.mips));
  const verdict = (ok: boolean): 'PASS' | 'MISS' => (ok ? 'PASS' : 'MISS');
  const targets = {
    mips: { target: TARGET_MIPS, stretch: STRETCH_MIPS, minMips, overallMips, pass: verdict(minMips >= TARGET_MIPS), stretchPass: verdict(minMips >= STRETCH_MIPS) },
    // FP/SIMD programs: the slowest of them against half the integer programs' overall MIPS (all instructions / all seconds).
    fp: { ratio: FP_TARGET_RATIO, intMips, fpMinMips, fpPerProgram: Object.fromEntries(fpResults.map((r) => [r.name, r.nestvisor.mips / intMips])), pass: fpResults.length && intResults.length ? verdict(fpMinMips >= FP_TARGET_RATIO * intMips) : ('-' as const) },
    rss: { targetBeyondRamMiB: TARGET_RSS_BEYOND_RAM_MIB, peakMiB, ramMiB: opts.ramMiB, beyondRamMiB, baselineMiB: baselineRss / MIB, pass: verdict(beyondRamMiB <= TARGET_RSS_BEYOND_RAM_MIB), strictPass: verdict(peakMiB <= TARGET_RSS_BEYOND_RAM_MIB) },
  };

  if (opts.json) {
    const doc = {
      date: new Date().toISOString(),
      host,
      node: process.version,
      qemu: qemuVer ? { version: qemuVer, startupSeconds: qemuStartup, startupRuns: qemuStartupRuns } : { note: qemuNote },
      ramSize,
      programs: results,
      targets,
    };
    const text = JSON.stringify(doc, null, 2) + '\n';
    if (opts.jsonFile) {
      writeFileSync(opts.jsonFile, text);
      progress(`wrote ${opts.jsonFile}`);
    } else process.stdout.write(text);
  }
  if (!opts.json || opts.jsonFile) printTable(results, qemuVer, qemuStartup, qemuNote, targets, host);
  if (!opts.noHyp && !opts.only && (!opts.json || opts.jsonFile)) {
    progress('hypervisor round trips (bench/hyp.ts) ...');
    process.stdout.write('\n');
    printHypBench(runHypBench(), (l) => process.stdout.write(l + '\n'));
  }
  if (!opts.noLinux && !opts.only && (!opts.json || opts.jsonFile)) {
    process.stdout.write('\n');
    if (!existsSync(join(root, '.cache', 'guests', 'guests.json'))) {
      process.stdout.write('Linux boot: skipped: no cached kernel and initramfs (run npm run fetch-guests)\n');
    } else {
      progress('Linux boot to init (bench/linux-boot.ts, its own process) ...');
      const args = [join(root, 'dist', 'bench', 'linux-boot.js'), ...(opts.useQemu ? ['--qemu', opts.qemu] : ['--no-qemu'])];
      const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
      if (r.status !== 0) failed = true;
    }
  }
  return failed ? 1 : 0;
}

function printTable(
  results: ProgramResult[],
  qemuVer: string | undefined,
  qemuStartup: number | undefined,
  qemuNote: string | undefined,
  t: {
    mips: { minMips: number; overallMips: number; pass: string; stretchPass: string };
    fp: { intMips: number; fpMinMips: number; pass: string };
    rss: { peakMiB: number; ramMiB: number; beyondRamMiB: number; baselineMiB: number; pass: string; strictPass: string };
  },
  host: string,
): void {
  const out: string[] = [];
  const f = (x: number | undefined, d: number): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const header = ['program', 'guest insns', 'nestvisor s', 'nestvisor MIPS', 'QEMU s (raw)', 'QEMU s (net)', 'QEMU MIPS (net)', 'ratio nv/QEMU', 'same result'];
  const rows = results.map((r) => [
    r.name,
    r.insns.toLocaleString('en-US'),
    f(r.nestvisor.seconds, 2),
    f(r.nestvisor.mips, 1),
    f(r.qemu?.seconds, 3),
    f(r.qemu?.netSeconds, 3),
    f(r.qemu?.mips, 0),
    r.ratio === undefined ? '-' : `${r.ratio.toFixed(1)}x`,
    r.match === undefined ? '-' : r.match ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  out.push('');
  out.push(`host: ${host}; node ${process.version}`);
  out.push(qemuVer ? `QEMU: ${qemuVer}, -M virt -cpu cortex-a57; start-up + shutdown ${f((qemuStartup ?? 0) * 1000, 1)} ms (hello.elf, median), subtracted for "net"` : `QEMU: ${qemuNote}`);
  out.push('');
  out.push(line(header));
  out.push(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of rows) out.push(line(row));
  out.push('');
  out.push(`speed:  slowest integer program ${f(t.mips.minMips, 1)} MIPS, overall (all programs) ${f(t.mips.overallMips, 1)} MIPS; target >= ${TARGET_MIPS} MIPS: ${t.mips.pass}; stretch >= ${STRETCH_MIPS} MIPS: ${t.mips.stretchPass}`);
  out.push(`        FP/SIMD: slowest ${f(t.fp.fpMinMips, 1)} MIPS vs integer programs ${f(t.fp.intMips, 1)} MIPS (${f((100 * t.fp.fpMinMips) / t.fp.intMips, 0)}%); target >= ${FP_TARGET_RATIO * 100}% of the integer MIPS: ${t.fp.pass}`);
  out.push(
    `memory: peak RSS ${f(t.rss.peakMiB, 1)} MiB (process.resourceUsage().maxRSS; Node baseline at start ${f(t.rss.baselineMiB, 1)} MiB) with ${t.rss.ramMiB} MiB guest RAM configured`,
  );
  out.push(`        peak RSS - guest RAM = ${f(t.rss.beyondRamMiB, 1)} MiB; target <= ${TARGET_RSS_BEYOND_RAM_MIB} MiB beyond guest RAM: ${t.rss.pass}`);
  out.push(
    `        guest RAM is an ArrayBuffer the OS backs lazily, so only touched guest pages are resident; the whole peak RSS (touched guest pages included) <= ${TARGET_RSS_BEYOND_RAM_MIB} MiB: ${t.rss.strictPass}`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

try {
  process.exitCode = main();
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exitCode = 2;
  } else throw e;
}
