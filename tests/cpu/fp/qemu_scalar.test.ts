/**
 * Scalar FP instructions (fp_scalar.ts) against qemu-aarch64, bit for bit:
 * results, FPSR and NZCV over random encodings and operand records (see
 * fpcheck.ts). Skipped visibly without qemu-aarch64, except under CI=true
 * where that is a failure. FPCHECK_SCALE multiplies the case count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDifferential } from './difftest.js';
import { fpScalarInsns } from '../../../src/cpu/insn/fp_scalar.js';

test('scalar FP instructions match qemu-aarch64 bit for bit', (t) => runDifferential(t, fpScalarInsns, 0x5ca1a7, assert));
