import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum, ethernet, GATEWAY_MAC, GUEST_IP, GUEST_MAC, ipv4, Wire } from './frames.js';

function echoRequest(id: number, seq: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + data.length);
  b[0] = 8;
  b[4] = id >> 8;
  b[5] = id & 0xff;
  b[6] = seq >> 8;
  b[7] = seq & 0xff;
  b.set(data, 8);
  const c = checksum([b]);
  b[2] = c >> 8;
  b[3] = c & 0xff;
  return b;
}

test('icmp: an echo request to the gateway or DNS address is answered with the same id, sequence and data', async () => {
  const w = new Wire();
  try {
    for (const target of ['10.0.2.2', '10.0.2.3']) {
      const data = Uint8Array.from({ length: 56 }, (_, i) => i * 7);
      const request = echoRequest(0x1234, 7, data);
      w.send(ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, ipv4({ src: GUEST_IP, dst: target, proto: 1, payload: request })));
      const d = await w.next();
      assert.equal(d.dst, '52:54:00:12:34:56');
      assert.ok(d.ip);
      assert.equal(d.ip.src, target);
      assert.equal(d.ip.dst, GUEST_IP);
      assert.equal(d.ip.proto, 1);
      const reply = d.ip.payload;
      assert.equal(reply.length, request.length);
      assert.equal(reply[0], 0, 'echo reply');
      assert.equal(reply[1], 0);
      assert.deepEqual(Uint8Array.from(reply.subarray(4)), request.subarray(4), 'id, sequence and data');
      assert.equal(checksum([reply]), 0);
    }
  } finally {
    w.close();
  }
});

test('icmp: echo to other addresses, and non-echo messages, are dropped', async () => {
  const w = new Wire();
  try {
    w.send(ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, ipv4({ src: GUEST_IP, dst: '8.8.8.8', proto: 1, payload: echoRequest(1, 1, new Uint8Array(8)) })));
    const reply = echoRequest(1, 1, new Uint8Array(8));
    reply[0] = 0;
    const c = checksum([reply.map((b, i) => (i === 2 || i === 3 ? 0 : b))]);
    reply[2] = c >> 8;
    reply[3] = c & 0xff;
    w.send(ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, ipv4({ src: GUEST_IP, dst: '10.0.2.2', proto: 1, payload: reply })));
    const bad = echoRequest(1, 1, new Uint8Array(8));
    bad[9] ^= 1; // checksum no longer matches
    w.send(ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, ipv4({ src: GUEST_IP, dst: '10.0.2.2', proto: 1, payload: bad })));
    assert.deepEqual(await w.drain(), []);
    assert.equal(w.net.stats['icmp.not_for_gateway'], 1);
    assert.equal(w.net.stats['icmp.not-echo-request'], 1);
    assert.equal(w.net.stats['icmp.checksum'], 1);
  } finally {
    w.close();
  }
});
