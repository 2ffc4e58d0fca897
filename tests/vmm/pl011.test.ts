/** PL011 receive path: host input beyond the 32-byte FIFO waits (flow control) instead of being dropped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pl011 } from '../../src/vmm/pl011.js';

const DR = 0x000, FR = 0x018, IMSC = 0x038, MIS = 0x040;
const RXFE = 1 << 4, RXFF = 1 << 6, INT_RX = 1 << 4;
const hi = { value: 0 };

test('PL011: 100 bytes typed at once all reach the guest, 32 at a time, with the RX interrupt until the last', () => {
  const u = new Pl011();
  const levels: boolean[] = [];
  u.onInterrupt = (l) => levels.push(l);
  u.write(IMSC, 4, INT_RX, 0);
  const text = 'echo "answer-$((6 * 7))-from-$(uname -m)" and then a good deal more than 32 bytes of typed-ahead input\n';
  u.receive(new TextEncoder().encode(text));
  assert.equal(u.read(FR, 4, hi) & RXFF, RXFF, 'the FIFO is full');
  assert.equal(u.pendingInput, text.length);
  let got = '';
  while (!(u.read(FR, 4, hi) & RXFE)) {
    assert.equal(u.read(MIS, 4, hi) & INT_RX, INT_RX, 'RX interrupt while data waits');
    got += String.fromCharCode(u.read(DR, 4, hi));
  }
  assert.equal(got, text);
  assert.equal(u.read(MIS, 4, hi) & INT_RX, 0, 'RX interrupt drops when everything is read');
  assert.deepEqual(levels, [true, false]);
});
