/**
 * QEMU-style execution logs (`-d in_asm,exec,int`): the code of each block
 * when it first runs, every block as it runs, and every exception taken.
 */
import type { PE, Block } from '../cpu/pe.js';
import { disassembleRange } from '../cpu/disasm.js';
import { ecName } from '../arch/esr.js';

export interface TraceOptions {
  inAsm?: boolean;
  exec?: boolean;
  int?: boolean;
  write: (line: string) => void;
}

export function attachTracer(pe: PE, opts: TraceOptions): void {
  const seen = new Set<Block>();
  if (opts.inAsm || opts.exec) {
    pe.onBlock = (p, b) => {
      const pc = (BigInt(p.blockHi >>> 0) << 32n) | BigInt(p.blockLo >>> 0);
      if (opts.inAsm && !seen.has(b)) {
        seen.add(b);
        opts.write(`IN: EL${p.el} PA 0x${b.pa.toString(16)}`);
        for (const line of disassembleRange(p.decoder, p.bus.readBytes(b.pa, 4 * b.n), pc)) opts.write(line);
        opts.write('');
      }
      if (opts.exec) opts.write(`Trace: [EL${p.el}] 0x${pc.toString(16).padStart(16, '0')} (${b.n} insns, icount ${p.icount})`);
    };
  }
  if (opts.int) {
    pe.onException = (p, target, vector, esr, ret) => {
      const kind = ['sync', 'irq', 'fiq', 'serror'][vector >> 7];
      const what = vector === 0 ? `${ecName(esr >>> 26)} ESR=0x${(esr >>> 0).toString(16)}` : kind;
      opts.write(`Exception: EL${p.el} -> EL${target} ${what} return 0x${ret.toString(16)} (icount ${p.icount})`);
    };
  }
}
