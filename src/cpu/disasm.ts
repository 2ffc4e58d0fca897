/** Disassembly from the instruction table (the same table the decoder uses). */
import type { Decoder } from './decoder.js';

/** One instruction in the architecture's assembler syntax; unallocated words show as `.inst`. */
export function disassemble(decoder: Decoder, word: number, pc: bigint): string {
  const d = decoder.decode(word >>> 0);
  if (d === null) return `.inst 0x${(word >>> 0).toString(16).padStart(8, '0')} ; undefined`;
  return d.c.def.disasm(d.fields, pc);
}

/** A block's listing: one line per instruction, `address: word  text`. */
export function disassembleRange(decoder: Decoder, bytes: Uint8Array, pc: bigint): string[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines: string[] = [];
  for (let o = 0; o + 4 <= bytes.length; o += 4) {
    const w = dv.getUint32(o, true);
    const a = pc + BigInt(o);
    lines.push(`0x${a.toString(16).padStart(16, '0')}:  ${w.toString(16).padStart(8, '0')}      ${disassemble(decoder, w, a)}`);
  }
  return lines;
}
