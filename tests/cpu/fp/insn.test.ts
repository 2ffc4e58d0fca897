/**
 * The FP instruction definitions (fp_scalar.ts, simd_fp.ts): every
 * encoding decodes to its own definition, unallocated encodings and
 * missing features are rejected, FP access traps, and register-write
 * details (scalar writes zero the rest of Vd, Q=0 zeroes bits 127:64,
 * FMOV to Vd.D[1] keeps the low half, the narrowing "2" forms keep the
 * lower half). Semantics are proven against QEMU in qemu_*.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder, InsnDef, compilePattern, encode, Fields } from '../../../src/cpu/decoder.js';
import { fpScalarInsns } from '../../../src/cpu/insn/fp_scalar.js';
import { simdFpInsns } from '../../../src/cpu/insn/simd_fp.js';
import { PhysicalBus } from '../../../src/cpu/bus.js';
import { PE } from '../../../src/cpu/pe.js';
import { ExceptionTaken } from '../../../src/cpu/exceptions.js';
import { Rng, randomWords } from './fpcheck.js';

const all: InsnDef[] = [...fpScalarInsns, ...simdFpInsns];
const full = new Decoder(all, new Set(['fp', 'fp16']));
const noHalf = new Decoder(all, new Set(['fp']));
const none = new Decoder(all, new Set());

function word(name: string, f: Fields): number {
  const c = full.byName.get(name);
  assert.ok(c, `no ${name}`);
  return encode(c, f);
}

function makePe(): PE {
  const bus = new PhysicalBus();
  bus.addRam(0x40000000, 1 << 16);
  const pe = new PE(bus, { fp: true, fp16: true });
  pe.fpEnabled = true;
  return pe;
}

function run(pe: PE, w: number): void {
  const d = full.decode(w);
  assert.ok(d, `0x${w.toString(16)} does not decode`);
  d.c.def.build(d.fields, { off: 0, word: w })(pe);
}

test('every FP encoding decodes to its own definition; classes and features are set', () => {
  const r = new Rng(5);
  for (const def of all) {
    assert.ok(def.cls === 'fp' || def.cls === 'simd', def.name);
    assert.ok(def.feature === 'fp' || def.feature === 'fp16', def.name);
    const isHalf = def.feature === 'fp16';
    for (const w of randomWords(def, r, 40)) {
      const d = full.decode(w);
      assert.equal(d?.c.def.name, def.name, `0x${w.toString(16)}`);
      assert.equal(noHalf.decode(w)?.c.def.name, isHalf ? undefined : def.name, `without fp16: 0x${w.toString(16)}`);
      assert.equal(none.decode(w), null, `without fp: 0x${w.toString(16)}`);
      assert.ok(def.disasm(d!.fields, 0n).length > 0);
    }
    compilePattern(def);
  }
});

test('unallocated encodings are rejected', () => {
  const rejects = (w: number, why: string): void => assert.equal(full.decode(w >>> 0), null, `${why}: 0x${(w >>> 0).toString(16)}`);
  // FP 2-source with opcode 1001..1111; ftype 10.
  for (let opc = 9; opc < 16; opc++) rejects(0x1e200800 | (opc << 12), `2-source opcode ${opc}`);
  rejects(0x1ea22820, 'FADD with ftype=10');
  // FCVT to the same type; BFCVT (ftype 01, opc 10) is FEAT_BF16.
  rejects(0x1e224020, 'FCVT S->S');
  rejects(0x1e634020, 'BFCVT');
  // 1-source opcode 000101 with ftype 01 (FCVT D->D) and the FRINT32/64 (FEAT_FRINTTS) opcodes.
  rejects(0x1e62c020, 'FCVT D->D');
  rejects(0x1e284020, 'FRINT32Z');
  // FMOV general: W<->D, X<->S combinations.
  rejects(0x1e670020, 'FMOV Dd, Wn');
  rejects(0x9e270020, 'FMOV Sd, Xn');
  // FCVTZS (fixed) 32-bit with scale < 32.
  rejects(0x1e18_0020 | (10 << 10), 'FCVTZS Wd, Sn, #54');
  // FMOV immediate with imm5 != 0.
  rejects(0x1e201021, 'FMOV imm with imm5 = 1');
  // Vector: double with Q=0; FMAXV on 2S/2D; FCVTXN with sz=0; by element double with L=1.
  rejects(0x0e60d420, 'FADD 1D');
  rejects(0x2e30f820, 'FMAXV 2S');
  rejects(word('FCVTXN_v', { Q: 0, Rn: 1, Rd: 0 }) & ~(1 << 22), 'FCVTXN sz=0');
  rejects(0x4fe01020, 'FMLA by element D with L=1');
  // Shift by immediate with immh=0001 (byte) has no FP form.
  rejects(0x0f08e420, 'SCVTF with immh=0001');
});

test('FP16 encodings need fp16, base FP encodings need fp', () => {
  const faddH = word('FADD_fh', { Rd: 0, Rn: 1, Rm: 2 });
  assert.equal(noHalf.decode(faddH), null);
  const fcvtHS = word('FCVT_f', { ftype: 3, opc: 0, Rn: 1, Rd: 0 });
  assert.equal(noHalf.decode(fcvtHS)?.c.def.name, 'FCVT_f', 'FCVT from half is base FP');
  const fcvtl = word('FCVTL_v', { Q: 0, sz: 0, Rn: 1, Rd: 0 });
  assert.equal(noHalf.decode(fcvtl)?.c.def.name, 'FCVTL_v', 'FCVTL from half is base FP');
  assert.equal(none.decode(fcvtHS), null);
});

test('an FP instruction with FP access disabled traps to EL1 with EC 0x07', () => {
  const pe = makePe();
  pe.fpEnabled = false; // CPACR_EL1.FPEN = 0 after reset
  const w = word('FADD_f', { sz: 1, Rd: 0, Rn: 1, Rm: 2 });
  pe.v32[0] = 0x1234;
  assert.throws(() => run(pe, w), (e) => e === ExceptionTaken);
  assert.equal(Number((pe.readSysreg('ESR_EL1') >> 26n) & 0x3fn), 0x07);
  assert.equal(pe.v32[0], 0x1234, 'no register written');
});

test('scalar writes zero the rest of the register; Q=0 zeroes the upper half', () => {
  const pe = makePe();
  for (let i = 0; i < 16; i++) pe.v32[i] = 0x3f800000; // every S lane of V0..V3 = 1.0
  run(pe, word('FADD_f', { sz: 0, Rd: 0, Rn: 1, Rm: 2 }));
  assert.deepEqual([...pe.v32.slice(0, 4)], [0x40000000, 0, 0, 0]);
  for (let i = 0; i < 16; i++) pe.v32[i] = 0x3f800000;
  run(pe, word('FADD_v', { Q: 0, sz: 0, Rd: 0, Rn: 1, Rm: 2 }));
  assert.deepEqual([...pe.v32.slice(0, 4)], [0x40000000, 0x40000000, 0, 0]);
  // Half scalar: only bits 15:0 survive.
  for (let i = 0; i < 16; i++) pe.v32[i] = 0x3c003c00; // half 1.0 in every lane
  run(pe, word('FADD_fh', { Rd: 0, Rn: 1, Rm: 2 }));
  assert.deepEqual([...pe.v32.slice(0, 4)], [0x4000, 0, 0, 0]);
});

test('FMOV Vd.D[1], Xn keeps the low half; FCVTN2 keeps the low half; FCVTL2 reads the high half', () => {
  const pe = makePe();
  pe.v32.fill(0);
  pe.v32[0] = 0x11111111;
  pe.v32[1] = 0x22222222;
  pe.setX(1, 0x4000000000000000n);
  run(pe, word('FMOV_gen', { sf: 1, ftype: 2, rmode: 1, op: 1, Rn: 1, Rd: 0 }));
  assert.deepEqual([...pe.v32.slice(0, 4)], [0x11111111, 0x22222222, 0, 0x40000000]);
  run(pe, word('FMOV_gen', { sf: 1, ftype: 2, rmode: 1, op: 0, Rn: 0, Rd: 2 }));
  assert.equal(pe.getX(2), 0x4000000000000000n);
  // FCVTN2 v0.4s, v1.2d: 1.0 and 2.0 into lanes 2 and 3, lanes 0-1 kept.
  const dv = new DataView(pe.vbuf);
  dv.setFloat64(16, 1, true);
  dv.setFloat64(24, 2, true);
  run(pe, word('FCVTN_v', { Q: 1, sz: 1, Rn: 1, Rd: 0 }));
  assert.deepEqual([...pe.v32.slice(0, 4)].map((x) => x >>> 0), [0x11111111, 0x22222222, 0x3f800000, 0x40000000]);
  // FCVTL2 v2.2d, v0.4s: from lanes 2 and 3.
  run(pe, word('FCVTL_v', { Q: 1, sz: 1, Rn: 0, Rd: 2 }));
  assert.equal(dv.getFloat64(32, true), 1);
  assert.equal(dv.getFloat64(40, true), 2);
});

test('FCMP sets NZCV; FCCMP takes the immediate flags when the condition fails', () => {
  const pe = makePe();
  const dv = new DataView(pe.vbuf);
  dv.setFloat64(0, 1, true);
  dv.setFloat64(16, 2, true);
  run(pe, word('FCMP_f', { sz: 1, Rn: 0, Rm: 1, z: 0 }));
  assert.deepEqual([pe.n, pe.z, pe.c, pe.v], [1, 0, 0, 0]);
  dv.setFloat64(16, NaN, true);
  pe.fpsr = 0;
  run(pe, word('FCMPE_f', { sz: 1, Rn: 0, Rm: 1, z: 0 }));
  assert.deepEqual([pe.n, pe.z, pe.c, pe.v], [0, 0, 1, 1]);
  assert.equal(pe.fpsr, 1, 'FCMPE signals on a quiet NaN');
  pe.z = 0;
  run(pe, word('FCCMP_f', { sz: 1, Rn: 0, Rm: 0, cond: 0, nzcv: 0b0101 })); // EQ fails: nzcv = 0101
  assert.deepEqual([pe.n, pe.z, pe.c, pe.v], [0, 1, 0, 1]);
});

test('disassembly of a few encodings', () => {
  const dis = (w: number): string => {
    const d = full.decode(w);
    assert.ok(d);
    return d.c.def.disasm(d.fields, 0n);
  };
  assert.equal(dis(0x1e222820), 'fadd s0, s1, s2');
  assert.equal(dis(0x1f420c20), 'fmadd d0, d1, d2, d3');
  assert.equal(dis(0x1e2e1000), 'fmov s0, #1.0');
  assert.equal(dis(0x4e22d420), 'fadd v0.4s, v1.4s, v2.4s');
  assert.equal(dis(0x9e780020), 'fcvtzs x0, d1');
  assert.equal(dis(0x5e21d820), 'scvtf s0, s1');
});

test('FP instructions run through the PE run loop once registered and enabled', async () => {
  const { insnTable } = await import('../../../src/cpu/insn/table.js');
  if (!insnTable().includes(fpScalarInsns[0])) return; // not registered in this tree
  const { RunExit } = await import('../../../src/cpu/pe.js');
  const bus = new PhysicalBus();
  bus.addRam(0x40000000, 1 << 16);
  const pe = new PE(bus, { fp: true, fp16: true });
  const code = [
    word('FMOV_imm_f', { sz: 1, imm8: 0x70, Rd: 0 }), // fmov d0, #1.0
    word('FADD_f', { sz: 1, Rd: 1, Rn: 0, Rm: 0 }), // fadd d1, d0, d0
    word('FCVTZS_gen_f', { sf: 1, sz: 1, Rd: 2, Rn: 1 }), // fcvtzs x2, d1
    0xd4000002, // hvc #0
  ];
  const b = new Uint8Array(code.length * 4);
  code.forEach((w, i) => new DataView(b.buffer).setUint32(4 * i, w >>> 0, true));
  bus.writeBytes(0x40000000, b);
  pe.writeSysreg('CPACR_EL1', 3n << 20n);
  pe.pc = 0x40000000n;
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(pe.getX(2), 2n);
  assert.equal(pe.vf64[2], 2);
});
