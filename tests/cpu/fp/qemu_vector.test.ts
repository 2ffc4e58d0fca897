/**
 * Advanced SIMD vector FP instructions (simd_fp.ts) against qemu-aarch64,
 * bit for bit (see fpcheck.ts and difftest.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDifferential } from './difftest.js';
import { simdFpInsns } from '../../../src/cpu/insn/simd_fp.js';

test('vector FP instructions match qemu-aarch64 bit for bit', (t) => runDifferential(t, simdFpInsns, 0x7ec7, assert));
