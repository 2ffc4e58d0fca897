import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arpPacket, BROADCAST, ethernet, GATEWAY_MAC, GUEST_IP, GUEST_MAC, Wire } from './frames.js';

test('arp: a request for the gateway gets a reply with 52:55:0a:00:02:02, byte by byte', async () => {
  const w = new Wire();
  try {
    w.send(ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, GUEST_IP, new Uint8Array(6), '10.0.2.2')));
    const d = await w.next();
    const expected = ethernet(GUEST_MAC, GATEWAY_MAC, 0x0806, arpPacket(2, GATEWAY_MAC, '10.0.2.2', GUEST_MAC, GUEST_IP));
    const padded = new Uint8Array(60);
    padded.set(expected);
    assert.equal(d.dst, '52:54:00:12:34:56');
    assert.equal(d.src, '52:55:0a:00:02:02');
    assert.deepEqual(Uint8Array.from(d.payload), padded.subarray(14));
  } finally {
    w.close();
  }
});

test('arp: the DNS address is answered too; other addresses and announcements are not', async () => {
  const w = new Wire();
  try {
    w.send(ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, GUEST_IP, new Uint8Array(6), '10.0.2.3')));
    const d = await w.next();
    assert.deepEqual(Uint8Array.from(d.payload.subarray(0, 28)), arpPacket(2, GATEWAY_MAC, '10.0.2.3', GUEST_MAC, GUEST_IP));
    w.send(ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, GUEST_IP, new Uint8Array(6), '10.0.2.77')));
    w.send(ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, GUEST_IP, new Uint8Array(6), GUEST_IP)));
    assert.deepEqual(await w.drain(), []);
    assert.equal(w.net.stats['arp.not_ours'], 1);
    assert.equal(w.net.stats['arp.announcements'], 1);
  } finally {
    w.close();
  }
});
