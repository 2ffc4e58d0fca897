/**
 * The disassembly of the SIMD groups agrees with GNU objdump's
 * (aarch64-linux-gnu-objdump) for random encodings of every definition.
 * Skipped when objdump is not installed (and failing with CI=true).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, Rng, SIMD_GROUPS, simdDecoder } from './simdcheck.js';

const OBJDUMP = process.env.OBJDUMP ?? 'aarch64-linux-gnu-objdump';
const CI = process.env.CI === 'true';
const have = spawnSync(OBJDUMP, ['--version']).status === 0;

/** objdump's text for each word (mnemonic and operands, comments dropped, whitespace normalised). */
function objdump(words: number[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'nv-disasm-'));
  try {
    const b = Buffer.alloc(4 * words.length);
    words.forEach((w, i) => b.writeUInt32LE(w >>> 0, 4 * i));
    writeFileSync(join(dir, 'x.bin'), b);
    const r2 = spawnSync(OBJDUMP, ['-D', '-b', 'binary', '-m', 'aarch64', join(dir, 'x.bin')], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const out: string[] = [];
    for (const line of r2.stdout.split('\n')) {
      const m = /^\s*[0-9a-f]+:\s+[0-9a-f]{8}\s+(.*)$/.exec(line);
      if (m) out.push(norm(m[1]));
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const norm = (s: string): string => s.replace(/\s*\/\/.*$/, '').replace(/\s+/g, ' ').trim();

test('SIMD disassembly matches objdump', { skip: !have && !CI ? `${OBJDUMP} not found` : false }, () => {
  assert.ok(have, `CI=true but ${OBJDUMP} is missing`);
  const dec = simdDecoder();
  const words: number[] = [];
  const ours: string[] = [];
  for (const group of Object.values(SIMD_GROUPS)) {
    const gen = new Generator(dec, group, new Rng(5), { maxInsns: 1, undefRate: 0 });
    for (const c of gen.defs) {
      if (c.def.name === 'LDR_V_lit') continue; // PC-relative: objdump prints the address without a base
      for (let i = 0; i < 150; i++) {
        const p = gen.make(c, true);
        if (p === null) continue;
        words.push(p.word);
        ours.push(norm(c.def.disasm(p.f, 0n)));
      }
    }
  }
  const theirs = objdump(words);
  assert.equal(theirs.length, words.length);
  const bad: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (ours[i] !== theirs[i]) bad.push(`${words[i].toString(16).padStart(8, '0')}: ours '${ours[i]}', objdump '${theirs[i]}'`);
  }
  assert.equal(bad.length, 0, `${bad.length} of ${words.length} differ:\n${bad.slice(0, 60).join('\n')}`);
});
