import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { parseHostfwd } from '../../../src/vmm/net/user.js';
import { ACK, arpPacket, BROADCAST, ethernet, GATEWAY_MAC, GUEST_IP, GUEST_MAC, guestTcp, guestUdp, PSH, SYN, Wire } from './frames.js';

test('hostfwd: QEMU syntax parses; each bad part is named', () => {
  assert.deepEqual(parseHostfwd('tcp::2222-:22'), { proto: 'tcp', hostPort: 2222, guestPort: 22 });
  assert.deepEqual(parseHostfwd('udp:127.0.0.1:5353-10.0.2.15:53'), { proto: 'udp', hostAddr: '127.0.0.1', hostPort: 5353, guestAddr: '10.0.2.15', guestPort: 53 });
  assert.deepEqual(parseHostfwd(':127.0.0.1:8080-:80'), { proto: 'tcp', hostAddr: '127.0.0.1', hostPort: 8080, guestPort: 80 });
  assert.throws(() => parseHostfwd('sctp::1-:2'), /bad protocol 'sctp'/);
  assert.throws(() => parseHostfwd('tcp::2222'), /missing '-'/);
  assert.throws(() => parseHostfwd('tcp::99999-:22'), /bad host port '99999'/);
  assert.throws(() => parseHostfwd('tcp::2222-:x'), /bad guest port 'x'/);
  assert.throws(() => parseHostfwd('tcp::2222-:0'), /bad guest port '0'/);
  assert.throws(() => parseHostfwd('tcp:localhost:2222-:22'), /bad host address 'localhost'/);
  assert.throws(() => parseHostfwd('tcp::2222-10.0.2:22'), /bad guest address '10.0.2'/);
  assert.throws(() => parseHostfwd('tcp:2222-22'), /host part '2222'/);
  assert.throws(() => parseHostfwd('tcp'), /expected \[tcp\|udp\]/);
});

test('hostfwd: a host TCP connection opens one to the guest (after ARP), and bytes flow both ways', async () => {
  const w = new Wire({ hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: 0, guestPort: 22 }] });
  try {
    const [bound] = await w.net.ready();
    assert.equal(bound.guestAddr, '10.0.2.15');
    const client = connect(bound.hostPort, '127.0.0.1');
    client.on('error', () => {});
    const fromGuest: Buffer[] = [];
    client.on('data', (d) => fromGuest.push(d));
    client.write('ping');
    // The guest's MAC is not known yet: the backend asks for it.
    const who = await w.next((d) => d.type === 0x0806);
    assert.equal(who.dst, 'ff:ff:ff:ff:ff:ff');
    assert.deepEqual(Uint8Array.from(who.payload.subarray(0, 28)), arpPacket(1, GATEWAY_MAC, '10.0.2.2', new Uint8Array(6), GUEST_IP));
    w.send(ethernet(GATEWAY_MAC, GUEST_MAC, 0x0806, arpPacket(2, GUEST_MAC, GUEST_IP, GATEWAY_MAC, '10.0.2.2')));
    const syn = (await w.next((d) => d.tcp !== undefined)).tcp;
    assert.ok(syn);
    assert.equal(syn.flags, SYN);
    assert.equal(syn.dport, 22);
    assert.deepEqual([...syn.options], [2, 4, 0x05, 0xb4]);
    const t = { src: GUEST_IP, sport: 22, dst: '10.0.2.2', dport: syn.sport };
    let seq = 9000;
    const rcv = (syn.seq + 1) >>> 0;
    w.send(guestTcp({ ...t, seq, ack: rcv, flags: SYN | ACK, options: Uint8Array.of(2, 4, 0x05, 0xb4) }));
    seq += 1;
    // The handshake's ACK, then the host's bytes.
    let got = '';
    let ackNo = rcv;
    while (got.length < 4) {
      const seg = (await w.next((d) => d.tcp !== undefined)).tcp;
      assert.ok(seg);
      assert.equal(seg.ack, seq);
      got += new TextDecoder().decode(seg.payload);
      ackNo = (seg.seq + seg.payload.length) >>> 0;
    }
    assert.equal(got, 'ping');
    w.send(guestTcp({ ...t, seq, ack: ackNo, flags: ACK | PSH, payload: new TextEncoder().encode('pong') }));
    while (Buffer.concat(fromGuest).length < 4) await new Promise((r) => setTimeout(r, 5));
    assert.equal(Buffer.concat(fromGuest).toString(), 'pong');
    client.destroy();
  } finally {
    w.close();
  }
});

test('hostfwd: UDP datagrams reach the guest from the gateway, and its answers go back to the host peer', async () => {
  const w = new Wire({ hostfwd: [{ proto: 'udp', hostAddr: '127.0.0.1', hostPort: 0, guestAddr: '10.0.2.15', guestPort: 53 }] });
  const peer = createSocket('udp4');
  try {
    const [bound] = await w.net.ready();
    // The guest has spoken before: its MAC is known.
    w.send(ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, GUEST_IP, new Uint8Array(6), '10.0.2.2')));
    await w.next((d) => d.type === 0x0806);
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    const answer = new Promise<Buffer>((r) => peer.once('message', (m) => r(m)));
    peer.send('query', bound.hostPort, '127.0.0.1');
    const d = await w.next((x) => x.udp !== undefined);
    assert.equal(d.ip?.src, '10.0.2.2');
    assert.equal(d.udp?.dport, 53);
    assert.equal(d.udp?.sport, peer.address().port);
    assert.equal(new TextDecoder().decode(d.udp?.payload), 'query');
    w.send(guestUdp(GUEST_IP, 53, '10.0.2.2', peer.address().port, new TextEncoder().encode('answer')));
    assert.equal((await answer).toString(), 'answer');
  } finally {
    w.close();
    peer.close();
  }
});

test('hostfwd: a guest that refuses (RST) makes the host connection reset', async () => {
  const w = new Wire({ hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: 0, guestPort: 23 }] });
  try {
    const [bound] = await w.net.ready();
    w.send(ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, GUEST_IP, new Uint8Array(6), '10.0.2.2')));
    await w.next((d) => d.type === 0x0806);
    const client = connect(bound.hostPort, '127.0.0.1');
    const failure = new Promise<string>((r) => {
      client.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? e.message));
      client.on('close', () => r('closed'));
    });
    const syn = (await w.next((d) => d.tcp !== undefined)).tcp;
    assert.ok(syn);
    w.send(guestTcp({ src: GUEST_IP, sport: 23, dst: '10.0.2.2', dport: syn.sport, seq: 0, ack: (syn.seq + 1) >>> 0, flags: 0x14 }));
    assert.equal(await failure, 'ECONNRESET');
  } finally {
    w.close();
  }
});

test('hostfwd: a port that cannot be bound makes ready() reject, naming the rule', async () => {
  const first = new Wire({ hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: 0, guestPort: 22 }] });
  try {
    const [bound] = await first.net.ready();
    const second = new Wire({ hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: bound.hostPort, guestPort: 22 }] });
    try {
      await assert.rejects(second.net.ready(), new RegExp(`hostfwd tcp:127.0.0.1:${bound.hostPort}-10.0.2.15:22: cannot listen: the host port is in use`));
    } finally {
      second.close();
    }
  } finally {
    first.close();
  }
});
