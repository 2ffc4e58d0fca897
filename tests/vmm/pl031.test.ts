import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pl031 } from '../../src/vmm/pl031.js';

const R = (d: Pl031, off: number): number => d.read(off, 4, { value: 0 });
const W = (d: Pl031, off: number, v: number): void => d.write(off, 4, v, 0);

test('pl031: RTCDR starts at host time and follows the clock', () => {
  const before = Math.floor(Date.now() / 1000);
  const rtc = new Pl031();
  const v = R(rtc, 0x00);
  assert.ok(v >= before && v <= before + 2, `RTCDR ${v} vs host ${before}`);
  let now = 1000.5;
  const r2 = new Pl031(() => now, 1_700_000_000);
  assert.equal(R(r2, 0x00), 1_700_000_000);
  now += 10;
  assert.equal(R(r2, 0x00), 1_700_000_010);
  assert.equal(R(r2, 0x0c), 1, 'RTCCR reads as started');
});

test('pl031: RTCLR loads the counter, which keeps counting from there', () => {
  let now = 0;
  const rtc = new Pl031(() => now, 5);
  W(rtc, 0x08, 1000);
  assert.equal(R(rtc, 0x00), 1000);
  now += 3.2;
  assert.equal(R(rtc, 0x00), 1003);
});

test('pl031: the match interrupt, masked and raw status, clear', () => {
  let now = 0;
  const rtc = new Pl031(() => now, 100);
  const irq: boolean[] = [];
  rtc.onInterrupt = (l) => irq.push(l);
  W(rtc, 0x04, 103); // RTCMR
  assert.equal(R(rtc, 0x04), 103);
  W(rtc, 0x10, 1); // unmask
  assert.equal(rtc.secondsToMatch(), 3);
  now = 2;
  rtc.poll();
  assert.equal(R(rtc, 0x14), 0);
  now = 5; // passed the match between polls: still raised
  rtc.poll();
  assert.equal(R(rtc, 0x14), 1, 'RTCRIS');
  assert.equal(R(rtc, 0x18), 1, 'RTCMIS');
  assert.deepEqual(irq, [true]);
  W(rtc, 0x10, 0); // mask: line drops, raw stays
  assert.equal(R(rtc, 0x18), 0);
  assert.equal(R(rtc, 0x14), 1);
  W(rtc, 0x1c, 1); // RTCICR
  assert.equal(R(rtc, 0x14), 0);
  assert.deepEqual(irq, [true, false]);
  // Does not fire again until the counter comes round to the match value.
  now = 50;
  rtc.poll();
  assert.equal(R(rtc, 0x14), 0);
});

test('pl031: PrimeCell identification registers', () => {
  const rtc = new Pl031();
  const ids = [0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc].map((o) => R(rtc, o));
  assert.deepEqual(ids, [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
});
