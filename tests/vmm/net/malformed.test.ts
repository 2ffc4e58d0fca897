import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arpPacket, BROADCAST, checksum, ethernet, GATEWAY_MAC, GUEST_IP, GUEST_MAC, guestTcp, guestUdp, ipv4, SYN, tcp, udp, Wire } from './frames.js';

/** A deterministic pseudo-random sequence (a 32-bit LCG). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 0x100000000;
  };
}

/** Frames of every kind the backend parses, addressed so that none reaches a host socket. */
function samples(): Uint8Array[] {
  const dhcp = new Uint8Array(300);
  dhcp.set([1, 1, 6], 0);
  dhcp.set([99, 130, 83, 99, 53, 1, 1, 255], 236);
  const echo = Uint8Array.of(8, 0, 0, 0, 0, 1, 0, 1, 9, 9);
  const c = checksum([echo]);
  echo[2] = c >> 8;
  echo[3] = c & 0xff;
  return [
    ethernet(BROADCAST, GUEST_MAC, 0x0806, arpPacket(1, GUEST_MAC, GUEST_IP, new Uint8Array(6), '10.0.2.2')),
    guestUdp('0.0.0.0', 68, '255.255.255.255', 67, dhcp, BROADCAST),
    guestUdp(GUEST_IP, 1000, '10.0.2.99', 1000, Uint8Array.of(1, 2, 3)),
    guestTcp({ src: GUEST_IP, sport: 1000, dst: '10.0.2.99', dport: 80, seq: 1, ack: 0, flags: SYN, options: Uint8Array.of(2, 4, 5, 0xb4) }),
    ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, ipv4({ src: GUEST_IP, dst: '10.0.2.2', proto: 1, payload: echo })),
  ];
}

test('malformed: every truncation of every kind of frame is dropped without throwing', async () => {
  const w = new Wire();
  try {
    for (const frame of samples()) {
      for (let n = 0; n < frame.length; n++) w.send(frame.slice(0, n));
    }
    await w.drain(10);
    const s = w.net.stats;
    assert.equal(s.internal_errors, undefined);
    assert.ok(s['eth.truncated'] >= 5 && s['ip.truncated'] >= 1 && s['arp.malformed'] >= 1, JSON.stringify(s));
  } finally {
    w.close();
  }
});

test('malformed: bad IHL, bad total length, bad version, bad UDP length and TCP data offset are dropped and counted', async () => {
  const w = new Wire();
  try {
    const base = (): Uint8Array => ipv4({ src: GUEST_IP, dst: '10.0.2.99', proto: 17, payload: udp(GUEST_IP, 1, '10.0.2.99', 2, Uint8Array.of(1, 2, 3, 4)) });
    const fixHeader = (p: Uint8Array): Uint8Array => {
      const hl = Math.min((p[0] & 15) * 4, p.length);
      p[10] = 0;
      p[11] = 0;
      const c = checksum([p.subarray(0, Math.max(20, hl))]);
      p[10] = c >> 8;
      p[11] = c & 0xff;
      return p;
    };
    const send = (p: Uint8Array): void => w.send(ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, p));
    let p = base();
    p[0] = 0x44; // IHL 4
    send(fixHeader(p));
    p = base();
    p[0] = 0x4f; // IHL 15: 60 bytes, longer than the packet
    send(p);
    p = base();
    p[2] = 0x10; // total length 4096 > frame
    send(fixHeader(p));
    p = base();
    p[3] = 10;
    p[2] = 0; // total length 10 < header
    send(fixHeader(p));
    p = base();
    p[0] = 0x65; // version 6 in an IPv4 frame
    send(fixHeader(p));
    p = base();
    p[11] ^= 0xff; // header checksum wrong
    send(p);
    p = base();
    p[25] = 200; // UDP length beyond the packet
    send(p);
    p = base();
    p[25] = 4; // UDP length below the header
    send(p);
    p = base();
    p[6] = 0x20; // more fragments
    send(fixHeader(p));
    const t = ipv4({ src: GUEST_IP, dst: '10.0.2.99', proto: 6, payload: tcp({ src: GUEST_IP, sport: 1, dst: '10.0.2.99', dport: 2, seq: 0, ack: 0, flags: SYN }) });
    t[32] = 0xf0; // data offset 15 words: beyond the segment
    send(t);
    const t2 = ipv4({ src: GUEST_IP, dst: '10.0.2.99', proto: 6, payload: tcp({ src: GUEST_IP, sport: 1, dst: '10.0.2.99', dport: 2, seq: 0, ack: 0, flags: SYN }) });
    t2[32] = 0x30; // data offset 3 words: shorter than a header
    send(t2);
    assert.deepEqual(await w.drain(10), []);
    const s = w.net.stats;
    assert.equal(s['ip.header-length'], 2);
    assert.equal(s['ip.total-length'], 2);
    assert.equal(s['ip.version'], 1);
    assert.equal(s['ip.checksum'], 1);
    assert.equal(s['udp.length'], 2);
    assert.equal(s['ip.fragments_dropped'], 1);
    assert.equal(s['tcp.data-offset'], 2);
    assert.equal(s.internal_errors, undefined);
  } finally {
    w.close();
  }
});

test('malformed: random bytes, and random headers with correct checksums, never throw', async () => {
  const w = new Wire();
  const random = lcg(7);
  const byte = (): number => Math.floor(random() * 256);
  try {
    const base = samples();
    for (let i = 0; i < 3000; i++) {
      const frame = base[i % base.length].slice();
      // Flip a few bytes after the Ethernet addresses.
      for (let k = 0; k < 1 + (i % 4); k++) frame[12 + Math.floor(random() * (frame.length - 12))] = byte();
      w.send(frame);
      // The same with the transport checksum repaired, so that deeper parsing (options) is reached.
      if (frame[12] === 0x08 && frame[13] === 0x00 && frame.length >= 34 && (frame[23] === 6 || frame[23] === 17)) {
        const ipHeader = (frame[14] & 15) * 4;
        const total = (frame[16] << 8) | frame[17];
        if (ipHeader >= 20 && total <= frame.length - 14 && total > ipHeader + 8) {
          const seg = frame.subarray(14 + ipHeader, 14 + total);
          const at = frame[23] === 6 ? 16 : 6;
          seg[at] = 0;
          seg[at + 1] = 0;
          const ps = new Uint8Array(12);
          ps.set(frame.subarray(26, 34), 0);
          ps[9] = frame[23];
          ps[10] = seg.length >> 8;
          ps[11] = seg.length & 0xff;
          const c = checksum([ps, seg]);
          seg[at] = c >> 8;
          seg[at + 1] = c & 0xff;
          w.send(frame);
        }
      }
    }
    for (let i = 0; i < 500; i++) w.send(Uint8Array.from({ length: Math.floor(random() * 120) }, byte));
    await w.drain(20);
    assert.equal(w.net.stats.internal_errors, undefined);
  } finally {
    w.close();
  }
});
