/**
 * Comparing the two sides' outcomes, and the mismatch report: the seed and
 * case, the block disassembled from the table, the initial state, and both
 * final states with the differing registers, flags and bytes marked.
 */
import type { Decoder } from '../../src/cpu/decoder.js';
import { B_EPILOGUE, CODE_BASE, Case, DATA_BASE, NREGS, Outcome, SP, TRAMP_BASE, TRAMP_EPILOGUE, Word64, reg64 } from './protocol.js';

/**
 * QEMU's linux-user on a 64-bit x86 host cannot place guest memory at or above
 * 2^47 and reports si_addr = 0 for faults there (real Linux reports the
 * address). Such a fault matches a nestvisor fault at any address >= 2^47.
 */
export const QEMU_VA_LIMIT = 1n << 47n;

const untag = (a: bigint): bigint => BigInt.asUintN(64, BigInt.asIntN(56, a));

export interface Difference {
  what: string;
  qemu: string;
  nv: string;
}

const hex64 = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');
const SIGNAMES: Record<number, string> = { 0: 'none', 4: 'SIGILL', 5: 'SIGTRAP', 7: 'SIGBUS', 8: 'SIGFPE', 11: 'SIGSEGV' };
export const regName = (i: number): string => (i === SP ? 'sp' : `x${i}`);
export const nzcvText = (v: number): string => ['N', 'Z', 'C', 'V'].map((f, i) => (v & (8 >> i) ? f : f.toLowerCase())).join('');

export function outcomeText(o: Outcome): string {
  if (o.other !== undefined) return `not a Linux outcome: ${o.other}`;
  if (o.sig === 0) return 'reached the epilogue';
  return `${SIGNAMES[o.sig] ?? `signal ${o.sig}`} si_code=${o.code} si_addr=0x${o.addr.toString(16)} at pc=0x${o.pc.toString(16)}`;
}

function memValue(diffs: readonly Word64[], pristine: DataView, off: number): bigint {
  const d = diffs.find((w) => w.off === off);
  if (d !== undefined) return (BigInt(d.hi >>> 0) << 32n) | BigInt(d.lo >>> 0);
  return pristine.getBigUint64(off, true);
}

/** The differences between QEMU's outcome `q` and nestvisor's `n` (empty: they agree). */
export function compareOutcomes(pristine: Uint8Array, q: Outcome, n: Outcome): Difference[] {
  const out: Difference[] = [];
  if (n.other !== undefined || q.other !== undefined) out.push({ what: 'outcome', qemu: outcomeText(q), nv: outcomeText(n) });
  else {
    if (q.sig !== n.sig || q.code !== n.code) out.push({ what: 'outcome', qemu: outcomeText(q), nv: outcomeText(n) });
    else if (q.sig !== 0) {
      // Data-abort addresses are compared untagged (bits 63:56 as copies of bit 55, Linux's untagged_addr):
      // QEMU 7.2 clears the tag only when bit 55 is 0. Instruction-fetch faults (si_addr = pc) keep their tag.
      const data = q.addr !== q.pc || n.addr !== n.pc;
      const qa = data ? untag(q.addr) : q.addr, na = data ? untag(n.addr) : n.addr;
      if (qa !== na && !(qa === 0n && q.sig === 11 && na >= QEMU_VA_LIMIT)) out.push({ what: 'si_addr', qemu: hex64(q.addr), nv: hex64(n.addr) });
      if (q.pc !== n.pc) out.push({ what: 'fault pc', qemu: hex64(q.pc), nv: hex64(n.pc) });
    }
  }
  for (let i = 0; i < NREGS; i++) {
    if (q.regs[2 * i] !== n.regs[2 * i] || q.regs[2 * i + 1] !== n.regs[2 * i + 1]) {
      out.push({ what: regName(i), qemu: hex64(reg64(q.regs, i)), nv: hex64(reg64(n.regs, i)) });
    }
  }
  if (q.nzcv !== n.nzcv) out.push({ what: 'nzcv', qemu: nzcvText(q.nzcv), nv: nzcvText(n.nzcv) });
  const view = new DataView(pristine.buffer, pristine.byteOffset, pristine.byteLength);
  const offs = [...new Set([...q.diffs.map((w) => w.off), ...n.diffs.map((w) => w.off)])].sort((a, b) => a - b);
  for (const off of offs) {
    const a = memValue(q.diffs, view, off), b = memValue(n.diffs, view, off);
    if (a !== b) out.push({ what: `mem[0x${(DATA_BASE + off).toString(16)}]`, qemu: hex64(a), nv: hex64(b) });
  }
  return out;
}

/** Disassembles a block with the table (unknown words are shown as such). */
export function disassemble(dec: Decoder, words: readonly number[]): string[] {
  const lines: string[] = [];
  words.forEach((w, i) => {
    const pc = BigInt(CODE_BASE + 4 * i);
    let text: string;
    if (i === words.length - 1 && w === B_EPILOGUE(i)) text = `b 0x${(TRAMP_BASE + TRAMP_EPILOGUE).toString(16)}  (to the epilogue)`;
    else {
      const d = dec.decode(w);
      text = d === null ? '(unallocated for this PE)' : `${d.c.def.disasm(d.fields, pc)}    [${d.c.def.name}]`;
    }
    lines.push(`    0x${pc.toString(16)}: ${(w >>> 0).toString(16).padStart(8, '0')}  ${text}`);
  });
  return lines;
}

function regsBlock(regs: Uint32Array, mark: Set<string> = new Set()): string[] {
  const lines: string[] = [];
  let line = '';
  for (let i = 0; i < NREGS; i++) {
    const name = regName(i);
    const cell = `${mark.has(name) ? '*' : ' '}${name.padStart(3)}=${hex64(reg64(regs, i))}`;
    line += cell + ' ';
    if (i % 4 === 3) {
      lines.push('    ' + line.trimEnd());
      line = '';
    }
  }
  return lines;
}

export interface ReportContext {
  cls: string;
  seed: number;
  batch: number;
  index: number;
  dec: Decoder;
}

export function formatMismatch(ctx: ReportContext, c: Case, words: readonly number[], pristine: Uint8Array, q: Outcome, n: Outcome, diffs: readonly Difference[]): string {
  const mark = new Set(diffs.map((d) => d.what));
  const lines: string[] = [];
  lines.push(`[${ctx.cls}] MISMATCH: seed ${ctx.seed} (DIFF_SEED=${ctx.seed}), batch ${ctx.batch}, case ${ctx.index}${c.note ? ` (${c.note})` : ''}`);
  lines.push('  block:');
  lines.push(...disassemble(ctx.dec, words));
  lines.push(`  initial: nzcv=${nzcvText(c.nzcv)}`);
  lines.push(...regsBlock(c.regs));
  const view = new DataView(pristine.buffer, pristine.byteOffset, pristine.byteLength);
  if (c.patches.length > 0) lines.push('  initial memory set by the case: ' + c.patches.map((p) => `[0x${(DATA_BASE + p.off).toString(16)}]=${hex64((BigInt(p.hi >>> 0) << 32n) | BigInt(p.lo >>> 0))}`).join(' '));
  lines.push('  differences (QEMU vs nestvisor):');
  for (const d of diffs) {
    let extra = '';
    const m = /^mem\[0x([0-9a-f]+)\]$/.exec(d.what);
    if (m) {
      const off = parseInt(m[1], 16) - DATA_BASE;
      const p = c.patches.find((x) => x.off === off);
      const init = p ? (BigInt(p.hi >>> 0) << 32n) | BigInt(p.lo >>> 0) : view.getBigUint64(off, true);
      extra = `  (initially ${hex64(init)})`;
    }
    lines.push(`    ${d.what.padEnd(20)} qemu ${d.qemu.padEnd(20)} nestvisor ${d.nv}${extra}`);
  }
  lines.push(`  QEMU:      ${outcomeText(q)}; nzcv=${nzcvText(q.nzcv)}`);
  lines.push(...regsBlock(q.regs, mark));
  lines.push(`  nestvisor: ${outcomeText(n)}; nzcv=${nzcvText(n.nzcv)}`);
  lines.push(...regsBlock(n.regs, mark));
  return lines.join('\n');
}
