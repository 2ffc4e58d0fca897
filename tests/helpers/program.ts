/**
 * Test helper: assembles small programs from the instruction table by name
 * (so tests need no cross toolchain) and runs them on a fresh PE.
 */
import { PhysicalBus } from '../../src/cpu/bus.js';
import { PE } from '../../src/cpu/pe.js';
import { Decoder, encode, Fields } from '../../src/cpu/decoder.js';
import { insnTable } from '../../src/cpu/insn/table.js';

export const RAM_BASE = 0x4000_0000;

let decoder: Decoder | null = null;
export function dec(): Decoder {
  if (decoder === null) decoder = new Decoder(insnTable());
  return decoder;
}

/** Encodes the instruction `name` from the table with `fields`. */
export function ins(name: string, fields: Fields): number {
  const c = dec().byName.get(name);
  if (c === undefined) throw new Error(`no instruction ${name} in the table`);
  return encode(c, fields);
}

export const HVC = (imm = 0): number => ins('HVC', { imm16: imm });
export const NOP = (): number => ins('HINT', { CRm: 0, op2: 0 });
/** MOVZ Xd, #imm16, LSL #(16*hw) */
export const MOVZ = (rd: number, imm: number, hw = 0): number => ins('MOVW', { sf: 1, opc: 2, hw, imm16: imm, Rd: rd });

export function words(ws: number[]): Uint8Array {
  const b = new Uint8Array(ws.length * 4);
  const dv = new DataView(b.buffer);
  ws.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}

/**
 * A PE with 1 MiB of RAM at RAM_BASE and `code` at RAM_BASE, PC there, at
 * EL1h. With `arena` the bus keeps RAM and PE state in a host arena, which
 * gives the PE the WebAssembly tier (src/cpu/jit/wasm).
 */
export function machine(code: number[] = [], ramSize = 1 << 20, arena = false): { pe: PE; bus: PhysicalBus } {
  const bus = new PhysicalBus(arena ? { arenaRam: ramSize } : {});
  bus.addRam(RAM_BASE, ramSize);
  const pe = new PE(bus);
  bus.writeBytes(RAM_BASE, words(code));
  pe.pc = BigInt(RAM_BASE);
  return { pe, bus };
}
