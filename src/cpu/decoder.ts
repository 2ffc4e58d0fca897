/**
 * The declarative instruction table machinery (the decodetree pattern of
 * QEMU's `a64.decode`): every A64 encoding nestvisor implements is one
 * `InsnDef` with a bit pattern. The same table drives the decoder, the
 * disassembler used in traces, and the random instruction generator of the
 * differential tests.
 *
 * A pattern lists the 32 bits from bit 31 down to bit 0, as space-separated
 * tokens: literal bits (`0`, `1`, or `x` for "either") or a field `name:width`.
 * Example (ADD/SUB immediate): `sf:1 op:1 S:1 100010 sh:1 imm12:12 Rn:5 Rd:5`.
 */
import type { PE } from './pe.js';

export type Fields = Record<string, number>;

/** One pre-decoded operation; runs the instruction's semantics on the PE. */
export type Op = (pe: PE) => void;

/** Where an instruction was decoded: its byte offset inside its 4 KiB page and its word. */
export interface Site {
  readonly off: number;
  readonly word: number;
}

/** Instruction classes, used by the differential generator and statistics. */
export type InsnClass =
  | 'dp-imm'
  | 'dp-reg'
  | 'branch'
  | 'ldst'
  | 'ldst-excl'
  | 'atomic'
  | 'system'
  | 'exception'
  | 'fp'
  | 'simd';

export const enum InsnFlags {
  None = 0,
  /** Ends a decoded block: branches, exception generation, system instructions that change PE state. */
  EndsBlock = 1,
  /** Changes the PC (the op writes pe.pcLo/pcHi); implies EndsBlock. */
  Branch = 2,
  /** Accesses memory (the differential generator points its base register into the data area). */
  Memory = 4,
  /**
   * A conditional branch (B.cond, CBZ/CBNZ, TBZ/TBNZ): the decoded block goes
   * on after it (a superblock); when taken, the op sets pe.branchTaken and the
   * block is left there, with only the instructions up to the branch retired.
   */
  CondBranch = 8,
}

export interface InsnDef {
  /** Unique name, the mnemonic plus a form suffix: `ADD_imm`, `LDR_uimm`. */
  readonly name: string;
  readonly pattern: string;
  readonly cls: InsnClass;
  readonly flags?: number;
  /** Encodings inside the pattern that the architecture leaves unallocated return false; they raise Undefined Instruction. */
  readonly valid?: (f: Fields) => boolean;
  /** Builds the operation for one decoded instance. */
  readonly build: (f: Fields, site: Site) => Op;
  /** Disassembly in the architecture's assembler syntax. `pc` is the instruction's address (for PC-relative targets). */
  readonly disasm: (f: Fields, pc: bigint) => string;
  /** The CPU feature this encoding needs (e.g. 'lse', 'crc32'); without it the encoding is unallocated. */
  readonly feature?: string;
}

export interface FieldSpec {
  readonly name: string;
  readonly lsb: number;
  readonly width: number;
}

export interface CompiledDef {
  readonly def: InsnDef;
  readonly mask: number;
  readonly value: number;
  readonly fields: readonly FieldSpec[];
  /** Number of fixed bits; more specific patterns are tried first. */
  readonly specificity: number;
}

export class PatternError extends Error {}

export function compilePattern(def: InsnDef): CompiledDef {
  let bit = 32;
  let mask = 0;
  let value = 0;
  const fields: FieldSpec[] = [];
  for (const tok of def.pattern.trim().split(/\s+/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*):(\d+)$/.exec(tok);
    if (m) {
      const width = Number(m[2]);
      bit -= width;
      fields.push({ name: m[1], lsb: bit, width });
      continue;
    }
    if (!/^[01x]+$/.test(tok)) throw new PatternError(`${def.name}: bad token '${tok}' in pattern`);
    for (const ch of tok) {
      bit--;
      if (ch !== 'x') {
        mask |= 1 << bit;
        if (ch === '1') value |= 1 << bit;
      }
    }
  }
  if (bit !== 0) throw new PatternError(`${def.name}: pattern has ${32 - bit} bits, not 32`);
  let specificity = 0;
  for (let m = mask >>> 0; m !== 0; m &= m - 1) specificity++;
  return { def, mask: mask >>> 0, value: value >>> 0, fields, specificity };
}

export function extractFields(c: CompiledDef, word: number): Fields {
  const f: Fields = {};
  for (const s of c.fields) f[s.name] = s.width === 32 ? word >>> 0 : (word >>> s.lsb) & ((1 << s.width) - 1);
  return f;
}

/** Inverse of extractFields: packs field values into the pattern's fixed bits (for the generator and tests). */
export function encode(c: CompiledDef, fields: Fields): number {
  let w = c.value;
  for (const s of c.fields) {
    const v = fields[s.name] ?? 0;
    w |= (v & ((1 << s.width) - 1)) << s.lsb;
  }
  return w >>> 0;
}

export interface Decoded {
  readonly c: CompiledDef;
  readonly fields: Fields;
}

/** A decoder over a set of definitions, bucketed by bits [28:25] (the A64 top-level op0 field). */
export class Decoder {
  readonly compiled: CompiledDef[];
  private readonly buckets: CompiledDef[][] = [];
  readonly byName = new Map<string, CompiledDef>();

  constructor(defs: readonly InsnDef[], readonly features: ReadonlySet<string> = new Set()) {
    this.compiled = defs.map(compilePattern);
    for (const c of this.compiled) {
      if (this.byName.has(c.def.name)) throw new PatternError(`duplicate instruction name ${c.def.name}`);
      this.byName.set(c.def.name, c);
    }
    for (let b = 0; b < 16; b++) {
      const list = this.compiled.filter((c) => ((b << 25) & c.mask) === (c.value & (0xf << 25) & c.mask));
      list.sort((x, y) => y.specificity - x.specificity);
      this.buckets.push(list);
    }
  }

  /** The definition and fields for `word`, or null if the encoding is unallocated (or needs a feature this PE lacks). */
  decode(word: number): Decoded | null {
    const list = this.buckets[(word >>> 25) & 0xf];
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if (((word & c.mask) >>> 0) !== c.value) continue;
      if (c.def.feature !== undefined && !this.features.has(c.def.feature)) continue;
      const fields = extractFields(c, word);
      if (c.def.valid !== undefined && !c.def.valid(fields)) continue;
      return { c, fields };
    }
    return null;
  }
}
