import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACK, GUEST_IP, GuestTcp, guestUdp, ip, PSH, sleep, Wire, type Decoded } from './frames.js';
import { UdpNat } from '../../../src/vmm/net/udp-nat.js';
import type { GuestLink } from '../../../src/vmm/net/link.js';
import { firstNameserver } from '../../../src/vmm/net/resolv-conf.js';

/** A UDP server on 127.0.0.1 answering each datagram with `answer(datagram)`. */
async function server(answer: (m: Buffer) => Buffer): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (m, peer) => socket.send(answer(m), peer.port, peer.address));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, port: socket.address().port };
}

test('udp: a datagram to the gateway reaches 127.0.0.1 and the answer comes back from the gateway', async () => {
  const w = new Wire();
  const echo = await server((m) => Buffer.concat([Buffer.from('echo:'), m]));
  try {
    w.send(guestUdp(GUEST_IP, 40000, '10.0.2.2', echo.port, new TextEncoder().encode('hello')));
    const d = await w.next();
    assert.equal(d.dst, '52:54:00:12:34:56');
    assert.equal(d.src, '52:55:0a:00:02:02');
    assert.equal(d.ip?.src, '10.0.2.2');
    assert.equal(d.ip?.dst, GUEST_IP);
    assert.equal(d.ip?.ttl, 64);
    assert.deepEqual(d.udp && { sport: d.udp.sport, dport: d.udp.dport, text: new TextDecoder().decode(d.udp.payload) }, { sport: echo.port, dport: 40000, text: 'echo:hello' });
    // The same flow is used again for the next datagram.
    w.send(guestUdp(GUEST_IP, 40000, '10.0.2.2', echo.port, new TextEncoder().encode('again')));
    const d2 = await w.next();
    assert.equal(new TextDecoder().decode(d2.udp?.payload), 'echo:again');
    assert.equal(w.net.stats['udp.flows_opened'], 1);
    assert.equal(w.net.busy(), false, 'answered: nothing waits');
  } finally {
    w.close();
    echo.socket.close();
  }
});

test('udp: an answer larger than the MTU comes in IPv4 fragments that reassemble to it', async () => {
  const w = new Wire();
  const big = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 13) & 0xff));
  const srv = await server(() => big);
  try {
    w.send(guestUdp(GUEST_IP, 40001, '10.0.2.2', srv.port, Uint8Array.of(1)));
    const fragments: Decoded[] = [];
    for (let more = true; more; ) {
      const d = await w.next();
      fragments.push(d);
      more = ((d.ip?.flagsFragment ?? 0) & 0x2000) !== 0;
    }
    assert.equal(fragments.length, 3);
    const whole = new Uint8Array(8 + big.length);
    for (const f of fragments) {
      assert.ok(f.ip && f.ip.payload.length + 20 <= 1500);
      assert.equal(f.ip.id, fragments[0].ip?.id);
      whole.set(f.ip.payload, (f.ip.flagsFragment & 0x1fff) * 8);
    }
    assert.equal((whole[4] << 8) | whole[5], whole.length, 'UDP length');
    assert.deepEqual(Buffer.from(whole.subarray(8)), big);
  } finally {
    w.close();
    srv.socket.close();
  }
});

test('udp: broadcasts, other addresses of the network and the DNS address off port 53 go nowhere', async () => {
  const w = new Wire();
  try {
    w.send(guestUdp(GUEST_IP, 5000, '255.255.255.255', 5000, Uint8Array.of(1)));
    w.send(guestUdp(GUEST_IP, 5000, '10.0.2.255', 5000, Uint8Array.of(1)));
    w.send(guestUdp(GUEST_IP, 5000, '10.0.2.99', 5000, Uint8Array.of(1)));
    w.send(guestUdp(GUEST_IP, 5000, '10.0.2.3', 5353, Uint8Array.of(1)));
    assert.deepEqual(await w.drain(), []);
    assert.equal(w.net.stats['udp.broadcast_dropped'], 2);
    assert.equal(w.net.stats['udp.no_route'], 2);
  } finally {
    w.close();
  }
});

test('udp: an idle flow is forgotten and its socket closed', async () => {
  const counts = new Map<string, number>();
  const link: GuestLink = { sendIpv4: () => {}, count: (n) => counts.set(n, (counts.get(n) ?? 0) + 1), log: () => {} };
  const srv = await server((m) => m);
  const nat = new UdpNat(link, (_a, port) => ({ host: '127.0.0.1', port }), 50);
  try {
    nat.datagramArrives(ip(GUEST_IP), ip('10.0.2.2'), { sourcePort: 1, destinationPort: srv.port, payload: Uint8Array.of(1) });
    assert.equal(nat.flowCount, 1);
    assert.equal(nat.awaitingReply(), true);
    await sleep(120);
    assert.equal(nat.flowCount, 0);
  } finally {
    nat.close();
    srv.socket.close();
  }
});

test('resolv.conf: the first nameserver, IPv4 or IPv6, comments skipped', () => {
  assert.equal(firstNameserver('# nameserver 1.1.1.1\nsearch example\nnameserver 192.0.2.53\nnameserver 8.8.8.8\n'), '192.0.2.53');
  assert.equal(firstNameserver('nameserver bogus\nnameserver 2001:db8::1\n'), '2001:db8::1');
  assert.equal(firstNameserver('options ndots:1\n'), null);
});

test('dns: the DNS address, port 53, forwards to the first nameserver of resolv.conf (UDP and TCP)', async (t) => {
  // A nameserver on a loopback address of its own, on port 53 (which needs the privilege to bind it).
  const nameserver = '127.0.0.153';
  const udpServer = createSocket('udp4');
  udpServer.on('message', (m, peer) => udpServer.send(Buffer.concat([Buffer.from('dns:'), m]), peer.port, peer.address));
  const tcpServer = createServer((s) => s.on('data', (d) => s.end(Buffer.concat([Buffer.from('tcp-dns:'), d]))));
  const bound = await Promise.all([
    new Promise<boolean>((r) => {
      udpServer.once('error', () => r(false));
      udpServer.bind(53, nameserver, () => r(true));
    }),
    new Promise<boolean>((r) => {
      tcpServer.once('error', () => r(false));
      tcpServer.listen(53, nameserver, () => r(true));
    }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'nestvisor-resolv-'));
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, `# test\nnameserver ${nameserver}\n`);
  const w = new Wire({ resolvConf });
  try {
    if (!bound.every(Boolean)) {
      t.skip(`cannot bind ${nameserver}:53 here`);
      return;
    }
    w.send(guestUdp(GUEST_IP, 33333, '10.0.2.3', 53, new TextEncoder().encode('query')));
    const d = await w.next();
    assert.equal(d.ip?.src, '10.0.2.3');
    assert.equal(d.udp?.sport, 53);
    assert.equal(new TextDecoder().decode(d.udp?.payload), 'dns:query');
    const c = new GuestTcp(w, 33334, '10.0.2.3', 53);
    await c.connect();
    c.send(ACK | PSH, { payload: new TextEncoder().encode('q2') });
    let got = '';
    while (!got.endsWith('q2')) got += new TextDecoder().decode((await c.next()).payload);
    assert.equal(got, 'tcp-dns:q2');
  } finally {
    w.close();
    udpServer.close();
    tcpServer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
