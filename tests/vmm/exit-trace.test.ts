/**
 * The exit trace (vmm/exit-trace.ts) of a real two-vCPU guest, the hyp-ipi
 * bare-metal program (SGI ping-pong with WFI sleeps, PL011 output through
 * MMIO exits): the trace must be valid Trace Event Format JSON, and what it
 * shows must add up to the vCPUs' own exit statistics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitTrace } from '../../src/vmm/exit-trace.js';
import { ipiGuestVm, DEV as UART } from '../hyp/util.js';

interface TraceEvent { name: string; ph: string; tid?: number; ts?: number; args?: Record<string, unknown> }

function runIpiGuest(maxEvents?: number): { events: TraceEvent[]; trace: ExitTrace; out: string; stats: Array<Record<string, number>> } {
  const { vm, v0, v1 } = ipiGuestVm();
  let json = '';
  const trace = new ExitTrace(vm, (s) => (json += s), { maxEvents });
  let out = '';
  for (let i = 0; i < 1_000_000; i++) {
    const { vcpu, exit: e } = vm.run();
    if (e.reason === 'mmio' && vcpu !== null) {
      if (e.isWrite && Number(e.addr) === UART) out += String.fromCharCode(Number(e.data & 0xffn));
      else if (!e.isWrite) vcpu.completeMmio(Number(e.addr) === UART + 0x18 ? 0x90 : 0); // PL011 FR: TX empty
      continue;
    }
    if (e.reason === 'preempted') continue;
    assert.deepEqual(e, { reason: 'system-event', type: 'shutdown' });
    break;
  }
  trace.close();
  const parsed = JSON.parse(json) as { traceEvents: TraceEvent[] };
  return { events: parsed.traceEvents, trace, out, stats: [v0.stats(), v1.stats()] };
}

test('exit trace: one track per vCPU; its exits, SGIs, MMIO and WFI sleeps add up to the vCPUs\' statistics', () => {
  const { events, trace, out, stats } = runIpiGuest();
  assert.equal(trace.dropped, 0);
  assert.equal(events.length, trace.written);
  const names = events.filter((e) => e.name === 'thread_name').map((e) => [e.tid, (e.args as { name: string }).name]);
  assert.deepEqual(names, [[0, 'vCPU 0'], [1, 'vCPU 1']]);
  for (const tid of [0, 1]) {
    const mine = events.filter((e) => e.tid === tid && e.ph !== 'M');
    const count = (name: string): number => mine.filter((e) => e.name === name && e.ph === 'i').length;
    assert.equal(count('sgi'), stats[tid].sgi, `vCPU ${tid}: SGI instants`);
    assert.equal(count('mmio-write'), stats[tid]['mmio-write']);
    assert.equal(count('psci'), stats[tid].psci);
    // Time never goes back on a track (the guest's counter).
    for (let k = 1; k < mine.length; k++) assert.ok(mine[k].ts! >= mine[k - 1].ts!, `vCPU ${tid}: ${mine[k].name} at ${mine[k].ts} after ${mine[k - 1].name} at ${mine[k - 1].ts}`);
    // WFI slices open and close in turn, and every close follows its open.
    const wfi = mine.filter((e) => e.name === 'WFI');
    assert.ok(wfi.length >= 2, `vCPU ${tid} slept`);
    wfi.forEach((e, k) => assert.equal(e.ph, k % 2 === 0 ? 'B' : 'E'));
    assert.ok(wfi.length / 2 <= stats[tid].wfi);
    // The exits/ms counter sums to the exit count.
    const perMs = events.filter((e) => e.name === `vCPU ${tid} exits/ms`).reduce((s, e) => s + (e.args as { exits: number }).exits, 0);
    assert.equal(perMs, stats[tid].exits);
  }
  // Each character the guest printed is an MMIO write to the PL011's data register, with the PC of the store.
  const uartWrites = events.filter((e) => e.name === 'mmio-write' && e.args?.ipa === `0x${UART.toString(16)}`);
  assert.equal(uartWrites.length, out.length);
  assert.ok(uartWrites.every((e) => /^0x4[0-9a-f]{7}$/.test(e.args!.pc as string)));
  // System-register traps name the register: the SGIs are writes of ICC_SGI1R_EL1.
  assert.ok(events.some((e) => e.name === 'sysreg' && e.args?.esr === 'MSR ICC_SGI1R_EL1'), 'the SGI writes trap as sysreg accesses, named');
});

test('exit trace: past maxEvents nothing more is written, the JSON stays whole and says how much was left out', () => {
  const { events, trace } = runIpiGuest(50);
  assert.equal(events.length, 51);
  assert.equal(trace.written, 51);
  assert.ok(trace.dropped > 100);
  assert.equal((events[50].args as { labels: string }).labels, `trace truncated: ${trace.dropped} events after the first 50 not written`);
});
