import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserNetwork } from '../../../src/vmm/net/user.js';
import { arpPacket, BROADCAST, ethernet, GUEST_MAC, Wire } from './frames.js';

test('options: another network moves the gateway, its MAC (52:55 + address), DNS and the DHCP pool', async () => {
  const w = new Wire({ net: '192.168.76.0/24', dhcpStart: '192.168.76.100' });
  try {
    assert.equal([...w.net.gatewayMac].map((b) => b.toString(16).padStart(2, '0')).join(':'), '52:55:c0:a8:4c:02');
    w.send(ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, '192.168.76.100', new Uint8Array(6), '192.168.76.3')));
    const d = await w.next();
    assert.deepEqual(Uint8Array.from(d.payload.subarray(0, 28)), arpPacket(2, w.net.gatewayMac, '192.168.76.3', GUEST_MAC, '192.168.76.100'));
  } finally {
    w.close();
  }
});

test('options: addresses outside the network, or clashing, are refused with the reason', () => {
  assert.throws(() => new UserNetwork({ net: '10.0.2.0/33' }), /bad net '10.0.2.0\/33'/);
  assert.throws(() => new UserNetwork({ host: '10.0.3.2' }), /bad host address 10.0.3.2 \(must be a host address in 10.0.2.0\/24\)/);
  assert.throws(() => new UserNetwork({ dns: '10.0.2.255' }), /bad dns address 10.0.2.255/);
  assert.throws(() => new UserNetwork({ host: '10.0.2.3' }), /host and dns addresses must differ/);
  assert.throws(() => new UserNetwork({ net: '10.9.0.0/29' }), /bad dhcpStart address 10.9.0.15 \(the default\)/);
});

test('options: close() is final: nothing more reaches onReceive, and send() is ignored', async () => {
  const w = new Wire();
  w.close();
  w.send(ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, '10.0.2.15', new Uint8Array(6), '10.0.2.2')));
  assert.deepEqual(await w.drain(10), []);
  assert.equal(w.net.busy(), false);
});
