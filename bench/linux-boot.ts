/**
 * Boot-to-init benchmark: Debian's arm64 cloud kernel (npm run fetch-guests)
 * with an initramfs whose /init prints a marker and powers off at once, on
 * nestvisor's virt machine (in this process) and under
 * `qemu-system-aarch64 -M virt,gic-version=3 -cpu cortex-a57` (TCG), measured
 * in the same run: host seconds from start to the marker, and to the end.
 *
 *   npm run build && node dist/bench/linux-boot.js [--smp N] [--no-qemu] [--qemu PATH]
 *
 * `npm run bench` runs it too (in its own process, so that its peak RSS is
 * the Linux boot's). Targets (issue 5): boot-to-init within 5x of QEMU's
 * time, peak RSS at most 150 MiB beyond the guest's RAM; both figures are
 * printed against the RAM configured and against the guest pages in use.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readCpio, writeCpio, S_IFREG } from '../src/vmm/cpio.js';
import { VirtMachine } from '../src/vmm/machine.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = join(root, '.cache', 'guests');
const MARKER = 'nestvisor-bench: init reached';
const APPEND = 'console=ttyAMA0 panic=-1';

function initramfs(dir: string): string {
  const g = JSON.parse(readFileSync(join(cache, 'guests.json'), 'utf8')) as { initrd: string };
  const entries = readCpio(gunzipSync(readFileSync(join(cache, g.initrd))), g.initrd).filter((e) => e.name !== 'init');
  entries.push({ name: 'init', mode: S_IFREG | 0o755, data: new TextEncoder().encode(`#!/bin/sh\necho "${MARKER}"\n/bin/poweroff -f\n`) });
  const p = join(dir, 'bench-initramfs.cpio.gz');
  writeFileSync(p, gzipSync(writeCpio(entries)));
  return p;
}

interface Result {
  toInit: number;
  total: number;
  insns?: number;
  /** Guest RAM pages holding a non-zero byte at the end, MiB (a lower bound of the guest pages resident). */
  guestMiB?: number;
}

const MIB = 1024 * 1024;
const RAM_MIB = 512;
const TARGET_RATIO = 5;
const TARGET_RSS_BEYOND_MIB = 150;

/** MiB of `ram` in 4 KiB pages with a non-zero byte. */
function pagesInUseMiB(ram: Uint8Array): number {
  const w = new Int32Array(ram.buffer, ram.byteOffset, ram.byteLength >> 2);
  let pages = 0;
  for (let p = 0; p < w.length; p += 1024) {
    for (let i = p; i < p + 1024; i++) {
      if (w[i] !== 0) {
        pages++;
        break;
      }
    }
  }
  return (pages * 4096) / MIB;
}

async function nestvisor(kernel: string, initrd: string, smp: number): Promise<Result> {
  const t0 = performance.now();
  let out = '';
  let toInit = NaN;
  const dec = new TextDecoder();
  const m = new VirtMachine({
    memBytes: RAM_MIB * MIB, cpus: smp, noReboot: true, cpu: 'cortex-a57', kernel: readFileSync(kernel), initrd: readFileSync(initrd), append: APPEND,
    onSerial: (b) => {
      out += dec.decode(b, { stream: true });
      if (Number.isNaN(toInit) && out.includes(MARKER)) toInit = (performance.now() - t0) / 1000;
    },
  });
  const r = await m.run({ maxInsns: 5e9 });
  if (r.end !== 'poweroff' || Number.isNaN(toInit)) throw new Error(`nestvisor: the guest ended with ${r.end} ${r.message ?? ''} before init:\n${out.slice(-2000)}`);
  return { toInit, total: (performance.now() - t0) / 1000, insns: r.insns, guestMiB: pagesInUseMiB(m.ram) };
}

function qemu(bin: string, kernel: string, initrd: string, smp: number): Promise<Result> {
  const t0 = performance.now();
  const p = spawn(bin, ['-M', 'virt,gic-version=3', '-cpu', 'cortex-a57', '-smp', String(smp), '-m', '512M', '-kernel', kernel, '-initrd', initrd,
    '-append', APPEND, '-nographic', '-no-reboot'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let toInit = NaN;
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (s: string) => {
    out += s;
    if (Number.isNaN(toInit) && out.includes(MARKER)) toInit = (performance.now() - t0) / 1000;
  });
  const timer = setTimeout(() => p.kill('SIGKILL'), 300_000);
  return new Promise((resolve, reject) => {
    p.on('error', reject);
    p.on('close', () => {
      clearTimeout(timer);
      if (Number.isNaN(toInit)) reject(new Error(`qemu did not reach init:\n${out.slice(-2000)}`));
      else resolve({ toInit, total: (performance.now() - t0) / 1000 });
    });
  });
}

async function main(argv: string[]): Promise<void> {
  let smp = 1;
  let useQemu = true;
  let qemuBin = 'qemu-system-aarch64';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--smp') smp = Number(argv[++i]);
    else if (argv[i] === '--no-qemu') useQemu = false;
    else if (argv[i] === '--qemu') qemuBin = argv[++i]!;
    else throw new Error(`unknown option ${argv[i]} (--smp N, --no-qemu, --qemu PATH)`);
  }
  if (!existsSync(join(cache, 'guests.json'))) throw new Error('no cached guests: run npm run fetch-guests');
  const g = JSON.parse(readFileSync(join(cache, 'guests.json'), 'utf8')) as { kernel: string };
  const kernel = join(cache, g.kernel);
  const dir = mkdtempSync(join(tmpdir(), 'nestvisor-bench-'));
  try {
    const initrd = initramfs(dir);
    const n = await nestvisor(kernel, initrd, smp);
    const q = useQemu ? await qemu(qemuBin, kernel, initrd, smp) : null;
    const row = (name: string, r: Result): string => `${name.padEnd(12)} ${r.toInit.toFixed(2).padStart(8)} s ${r.total.toFixed(2).padStart(8)} s${r.insns !== undefined ? `   ${(r.insns / 1e6).toFixed(0)}M instructions, ${(r.insns / 1e6 / r.total).toFixed(1)} MIPS` : ''}`;
    // Peak RSS of this process: nestvisor ran in it (QEMU is a child process, not counted).
    const peakMiB = process.resourceUsage().maxRSS / 1024;
    console.log(`Linux ${g.kernel}, -smp ${smp}, ${RAM_MIB}M: boot to init / to power off (host seconds)`);
    console.log(row('nestvisor', n));
    if (q) {
      console.log(row('qemu (TCG)', q));
      const ratio = n.toInit / q.toInit;
      console.log(`ratio nestvisor/qemu to init: ${ratio.toFixed(1)}x; target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'PASS' : 'MISS'}`);
    }
    const beyondPages = peakMiB - (n.guestMiB ?? 0);
    console.log(`memory: peak RSS ${peakMiB.toFixed(0)} MiB with ${RAM_MIB} MiB of guest RAM configured (${(peakMiB - RAM_MIB).toFixed(0)} MiB beyond it: ` +
      `${peakMiB - RAM_MIB <= TARGET_RSS_BEYOND_MIB ? 'PASS' : 'MISS'}); guest pages in use ${(n.guestMiB ?? 0).toFixed(0)} MiB, ` +
      `${beyondPages.toFixed(0)} MiB beyond them (target <= ${TARGET_RSS_BEYOND_MIB}: ${beyondPages <= TARGET_RSS_BEYOND_MIB ? 'PASS' : 'MISS'})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`linux-boot: ${(e as Error).message}`);
  process.exitCode = 1;
});
