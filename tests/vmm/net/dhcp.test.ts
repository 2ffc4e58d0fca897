import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestUdp, ip, ipText, Wire, type Decoded } from './frames.js';

const CLIENT_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

/** A DHCP client message (RFC 2131 2) with the given options (code, value). */
function dhcpMessage(xid: number, mac: Uint8Array, options: Array<[number, number[]]>, fields: { ciaddr?: string; flags?: number } = {}): Uint8Array {
  const b = new Uint8Array(300);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  new DataView(b.buffer).setUint32(4, xid);
  new DataView(b.buffer).setUint16(10, fields.flags ?? 0);
  if (fields.ciaddr) new DataView(b.buffer).setUint32(12, ip(fields.ciaddr));
  b.set(mac, 28);
  b.set([99, 130, 83, 99], 236);
  let i = 240;
  for (const [code, value] of options) {
    b[i++] = code;
    b[i++] = value.length;
    b.set(value, i);
    i += value.length;
  }
  b[i] = 255;
  return b;
}

function send(w: Wire, message: Uint8Array, src = '0.0.0.0', dst = '255.255.255.255', mac = CLIENT_MAC): void {
  const frame = guestUdp(src, 68, dst, 67, message, Uint8Array.of(255, 255, 255, 255, 255, 255));
  frame.set(mac, 6);
  w.send(frame);
}

interface Reply {
  frame: Decoded;
  op: number;
  xid: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  chaddr: Uint8Array;
  options: Map<number, Uint8Array>;
}

function parseReply(d: Decoded): Reply {
  assert.ok(d.udp, 'a UDP datagram');
  assert.equal(d.udp.sport, 67);
  assert.equal(d.udp.dport, 68);
  assert.equal(d.ip?.src, '10.0.2.2');
  const m = d.udp.payload;
  assert.ok(m.length >= 300, 'at least the BOOTP minimum of 300 bytes');
  assert.deepEqual([...m.subarray(236, 240)], [99, 130, 83, 99], 'magic cookie');
  const options = new Map<number, Uint8Array>();
  let i = 240;
  while (m[i] !== 255) {
    if (m[i] === 0) { i++; continue; }
    options.set(m[i], m.slice(i + 2, i + 2 + m[i + 1]));
    i += 2 + m[i + 1];
  }
  const dv = new DataView(m.buffer, m.byteOffset);
  return { frame: d, op: m[0], xid: dv.getUint32(4), flags: dv.getUint16(10), ciaddr: ipText(m, 12), yiaddr: ipText(m, 16), siaddr: ipText(m, 20), chaddr: m.slice(28, 34), options };
}

const addr = (v: Uint8Array | undefined): string => (v === undefined ? 'none' : ipText(v, 0));

function checkConfiguration(r: Reply): void {
  assert.equal(addr(r.options.get(54)), '10.0.2.2', 'server id');
  assert.deepEqual([...(r.options.get(51) ?? [])], [0, 1, 0x51, 0x80], 'lease 86400 s');
  assert.equal(addr(r.options.get(1)), '255.255.255.0', 'subnet mask');
  assert.equal(addr(r.options.get(3)), '10.0.2.2', 'router');
  assert.equal(addr(r.options.get(6)), '10.0.2.3', 'DNS');
  assert.equal(addr(r.options.get(28)), '10.0.2.255', 'broadcast address');
}

test('dhcp: DISCOVER -> OFFER -> REQUEST -> ACK, broadcast to a client without an address', async () => {
  const w = new Wire();
  try {
    send(w, dhcpMessage(0xabcd0001, CLIENT_MAC, [[53, [1]], [55, [1, 3, 6, 28]]]));
    const offer = parseReply(await w.next());
    assert.equal(offer.frame.dst, 'ff:ff:ff:ff:ff:ff');
    assert.equal(offer.frame.ip?.dst, '255.255.255.255');
    assert.equal(offer.op, 2);
    assert.equal(offer.xid, 0xabcd0001);
    assert.equal(offer.yiaddr, '10.0.2.15');
    assert.equal(offer.ciaddr, '0.0.0.0');
    assert.deepEqual(offer.chaddr, CLIENT_MAC);
    assert.deepEqual([...(offer.options.get(53) ?? [])], [2], 'DHCPOFFER');
    checkConfiguration(offer);

    send(w, dhcpMessage(0xabcd0002, CLIENT_MAC, [[53, [3]], [50, [10, 0, 2, 15]], [54, [10, 0, 2, 2]]]));
    const ack = parseReply(await w.next());
    assert.equal(ack.frame.dst, 'ff:ff:ff:ff:ff:ff');
    assert.equal(ack.xid, 0xabcd0002);
    assert.equal(ack.yiaddr, '10.0.2.15');
    assert.deepEqual([...(ack.options.get(53) ?? [])], [5], 'DHCPACK');
    checkConfiguration(ack);

    // Renewing (RFC 2131 4.3.2): ciaddr set, unicast to the client's address and MAC.
    send(w, dhcpMessage(0xabcd0003, CLIENT_MAC, [[53, [3]]], { ciaddr: '10.0.2.15' }), '10.0.2.15', '10.0.2.2');
    const renew = parseReply(await w.next());
    assert.equal(renew.frame.dst, '52:54:00:12:34:56');
    assert.equal(renew.frame.ip?.dst, '10.0.2.15');
    assert.equal(renew.ciaddr, '10.0.2.15');
    assert.equal(renew.yiaddr, '10.0.2.15');
    assert.deepEqual([...(renew.options.get(53) ?? [])], [5]);
  } finally {
    w.close();
  }
});

test('dhcp: a second client gets the next address; the broadcast flag is echoed', async () => {
  const w = new Wire();
  try {
    send(w, dhcpMessage(1, CLIENT_MAC, [[53, [1]]]));
    assert.equal(parseReply(await w.next()).yiaddr, '10.0.2.15');
    const other = Uint8Array.of(0x52, 0x54, 0, 0, 0, 2);
    send(w, dhcpMessage(2, other, [[53, [1]]], { flags: 0x8000 }), '0.0.0.0', '255.255.255.255', other);
    const offer = parseReply(await w.next());
    assert.equal(offer.yiaddr, '10.0.2.16');
    assert.equal(offer.flags, 0x8000);
    assert.equal(offer.frame.dst, 'ff:ff:ff:ff:ff:ff');
  } finally {
    w.close();
  }
});

test('dhcp: a REQUEST for an address other than the lease gets a NAK; another server chosen gets nothing', async () => {
  const w = new Wire();
  try {
    send(w, dhcpMessage(1, CLIENT_MAC, [[53, [1]]]));
    assert.equal(parseReply(await w.next()).yiaddr, '10.0.2.15');
    send(w, dhcpMessage(2, CLIENT_MAC, [[53, [3]], [50, [10, 0, 2, 20]]]));
    const nak = parseReply(await w.next());
    assert.deepEqual([...(nak.options.get(53) ?? [])], [6], 'DHCPNAK');
    assert.equal(addr(nak.options.get(54)), '10.0.2.2');
    assert.equal(nak.yiaddr, '0.0.0.0');
    assert.equal(nak.options.has(51), false, 'no lease in a NAK');
    assert.equal(nak.frame.dst, 'ff:ff:ff:ff:ff:ff');
    // An address outside the pool, from a client the server does not know, is refused too.
    const stranger = Uint8Array.of(0x52, 0x54, 0, 0, 0, 9);
    send(w, dhcpMessage(3, stranger, [[53, [3]], [50, [192, 168, 1, 5]]]), '0.0.0.0', '255.255.255.255', stranger);
    assert.deepEqual([...(parseReply(await w.next()).options.get(53) ?? [])], [6]);
    // RFC 2131 4.3.2: a REQUEST naming another server is not for us.
    send(w, dhcpMessage(4, CLIENT_MAC, [[53, [3]], [50, [10, 0, 2, 15]], [54, [10, 0, 2, 99]]]));
    assert.deepEqual(await w.drain(), []);
    assert.equal(w.net.stats['dhcp.other-server'], 1);
  } finally {
    w.close();
  }
});

test('dhcp: a client rebooting with a remembered free address gets it (INIT-REBOOT)', async () => {
  const w = new Wire();
  try {
    send(w, dhcpMessage(7, CLIENT_MAC, [[53, [3]], [50, [10, 0, 2, 17]]]));
    const ack = parseReply(await w.next());
    assert.deepEqual([...(ack.options.get(53) ?? [])], [5]);
    assert.equal(ack.yiaddr, '10.0.2.17');
  } finally {
    w.close();
  }
});

test('dhcp: malformed messages are dropped and counted', async () => {
  const w = new Wire();
  try {
    send(w, dhcpMessage(1, CLIENT_MAC, [[53, [1]]]).subarray(0, 200)); // truncated
    const noCookie = dhcpMessage(1, CLIENT_MAC, [[53, [1]]]);
    noCookie[236] = 0;
    send(w, noCookie);
    const overrun = dhcpMessage(1, CLIENT_MAC, [[53, [1]]]);
    overrun[240] = 12; // a host name option
    overrun[241] = 200; // claiming 200 bytes, past the end
    send(w, overrun.subarray(0, 260));
    send(w, dhcpMessage(1, CLIENT_MAC, [])); // BOOTP without a message type
    assert.deepEqual(await w.drain(), []);
    const s = w.net.stats;
    assert.equal(s['dhcp.truncated'], 1);
    assert.equal(s['dhcp.cookie'], 1);
    assert.equal(s['dhcp.options'], 1);
    assert.equal(s['dhcp.no-message-type'], 1);
  } finally {
    w.close();
  }
});
