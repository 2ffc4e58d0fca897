import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { ACK, FIN, GuestTcp, PSH, RST, sleep, SYN, Wire } from './frames.js';

/** A TCP server on 127.0.0.1; `onConnection` gets each socket. */
async function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

function stop(s: { server: Server; sockets: Set<Socket> }): void {
  for (const c of s.sockets) c.destroy();
  s.server.close();
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test('tcp: handshake with MSS 1460 and checksums, data both ways, FIN from the guest first', async () => {
  const w = new Wire();
  const received: Buffer[] = [];
  let hostSawEnd = false;
  const srv = await listen((s) => {
    s.on('data', (d) => {
      received.push(d);
      s.write(Buffer.concat([Buffer.from('re:'), d]));
    });
    s.on('end', () => {
      hostSawEnd = true;
      s.end();
    });
  });
  try {
    const c = new GuestTcp(w, 45000, '10.0.2.2', srv.port);
    c.send(SYN, { window: 29200, options: Uint8Array.of(2, 4, 0x05, 0xb4, 1, 3, 3, 7) }); // MSS, NOP, window scale (ignored)
    const synAck = await c.next();
    assert.equal(synAck.flags, SYN | ACK);
    assert.equal(synAck.ack, 1001);
    assert.deepEqual([...synAck.options], [2, 4, 0x05, 0xb4], 'only the MSS option, 1460');
    assert.ok(synAck.window > 0);
    c.seq = 1001;
    c.rcvNxt = (synAck.seq + 1) >>> 0;
    c.send(ACK);
    c.send(ACK | PSH, { payload: text('hello') });
    c.seq += 5;
    // The ACK of the data, then the server's answer (perhaps the same segment).
    let answer = '';
    while (answer.length < 8) {
      const seg = await c.next();
      assert.equal(seg.flags & (SYN | RST | FIN), 0);
      assert.equal(seg.seq, c.rcvNxt);
      answer += new TextDecoder().decode(seg.payload);
      c.rcvNxt = (c.rcvNxt + seg.payload.length) >>> 0;
      if (seg.ack === c.seq && seg.payload.length > 0) c.send(ACK);
    }
    assert.equal(answer, 're:hello');
    assert.equal(Buffer.concat(received).toString(), 'hello');
    assert.equal(w.net.busy(), true, 'a connection is open');
    // Guest closes; the host sees EOF and closes too; the backend's FIN comes.
    c.send(FIN | ACK);
    c.seq += 1;
    let fin = await c.next();
    while (!(fin.flags & FIN)) fin = await c.next();
    assert.equal(fin.ack, c.seq, 'our FIN acknowledged');
    assert.equal(fin.seq, c.rcvNxt);
    assert.ok(hostSawEnd);
    c.rcvNxt += 1;
    c.send(ACK);
    await sleep(20);
    assert.equal(w.net.busy(), false, 'closed');
  } finally {
    w.close();
    stop(srv);
  }
});

test('tcp: 200 KiB from the host arrive whole and in order through a 3000-byte window; FIN from the host', async () => {
  const w = new Wire();
  const body = Buffer.from(Array.from({ length: 200 * 1024 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
  const srv = await listen((s) => {
    s.once('data', () => s.end(body));
  });
  try {
    const window = 3000;
    const c = new GuestTcp(w, 45001, '10.0.2.2', srv.port);
    await c.connect(window);
    c.send(ACK | PSH, { payload: text('GET'), window });
    c.seq += 3;
    const got: Uint8Array[] = [];
    let total = 0;
    let acked = c.rcvNxt;
    for (;;) {
      const seg = await c.next();
      assert.ok(seg.payload.length <= 1460, 'segments of at most the MSS');
      // Never beyond the window the guest offered.
      assert.ok(((seg.seq + seg.payload.length - acked) | 0) <= window, 'within the advertised window');
      if (seg.seq !== c.rcvNxt) continue; // a retransmission of what we already have
      got.push(seg.payload.slice());
      total += seg.payload.length;
      c.rcvNxt = (c.rcvNxt + seg.payload.length + (seg.flags & FIN ? 1 : 0)) >>> 0;
      c.send(ACK, { window });
      acked = c.rcvNxt;
      if (seg.flags & FIN) break;
    }
    assert.equal(total, body.length);
    assert.ok(Buffer.concat(got).equals(body), 'the same bytes in the same order');
    // Close our side; the backend acknowledges our FIN.
    c.send(FIN | ACK, { window });
    c.seq += 1;
    const last = await c.next();
    assert.equal(last.flags, ACK);
    assert.equal(last.ack, c.seq);
    assert.equal(w.net.busy(), false);
  } finally {
    w.close();
    stop(srv);
  }
});

test('tcp: a closed port gets RST|ACK acknowledging the SYN', async () => {
  const w = new Wire();
  const srv = await listen(() => {});
  const port = srv.port;
  stop(srv);
  await sleep(10);
  try {
    const c = new GuestTcp(w, 45002, '10.0.2.2', port, 5000);
    c.send(SYN, { options: Uint8Array.of(2, 4, 0x05, 0xb4) });
    const rst = await c.next();
    assert.equal(rst.flags, RST | ACK);
    assert.equal(rst.seq, 0);
    assert.equal(rst.ack, 5001);
    assert.equal(w.net.stats['tcp.connect_failed'], 1);
  } finally {
    w.close();
  }
});

test('tcp: data the guest did not acknowledge is sent again on a timer', async () => {
  const w = new Wire();
  const srv = await listen((s) => s.write('abc'));
  try {
    const c = new GuestTcp(w, 45003, '10.0.2.2', srv.port);
    await c.connect();
    const first = await c.next();
    assert.equal(new TextDecoder().decode(first.payload), 'abc');
    // Pretend the NIC dropped it: no ACK. It comes again after the retransmission timeout (about 200 ms).
    const started = Date.now();
    const again = await c.next(1500);
    assert.ok(Date.now() - started >= 150, 'not before the timeout');
    assert.equal(again.seq, first.seq);
    assert.equal(new TextDecoder().decode(again.payload), 'abc');
    assert.ok(w.net.stats['tcp.retransmits'] >= 1);
    c.rcvNxt = (c.rcvNxt + 3) >>> 0;
    c.send(ACK);
    assert.deepEqual((await w.drain(400)).filter((d) => d.tcp !== undefined), [], 'nothing more once acknowledged');
  } finally {
    w.close();
    stop(srv);
  }
});

test('tcp: out-of-order and duplicate data are re-ACKed at rcv_nxt and not passed on', async () => {
  const w = new Wire();
  const received: Buffer[] = [];
  const srv = await listen((s) => s.on('data', (d) => received.push(d)));
  try {
    const c = new GuestTcp(w, 45004, '10.0.2.2', srv.port);
    await c.connect();
    c.send(ACK, { payload: text('later'), seq: c.seq + 10 }); // a gap before it
    let seg = await c.next();
    assert.equal(seg.ack, c.seq, 'dup ACK at rcv_nxt');
    c.send(ACK, { payload: text('first') });
    seg = await c.next();
    assert.equal(seg.ack, c.seq + 5);
    c.send(ACK, { payload: text('first') }); // a repeat
    seg = await c.next();
    assert.equal(seg.ack, c.seq + 5);
    // Overlapping: 'st' again plus new bytes: only the new ones go on.
    c.send(ACK, { payload: text('stXY'), seq: c.seq + 3 });
    seg = await c.next();
    assert.equal(seg.ack, c.seq + 7);
    await sleep(30);
    assert.equal(Buffer.concat(received).toString(), 'firstXY');
  } finally {
    w.close();
    stop(srv);
  }
});

test('tcp: resets both ways; a segment for no connection is reset', async () => {
  const w = new Wire();
  const hostSockets: Socket[] = [];
  const srv = await listen((s) => hostSockets.push(s));
  try {
    // The guest resets: the host socket closes.
    const c = new GuestTcp(w, 45005, '10.0.2.2', srv.port);
    await c.connect();
    while (hostSockets.length < 1) await sleep(5);
    const closed = new Promise((r) => hostSockets[0].on('close', r));
    c.send(RST, { seq: c.seq });
    await closed;
    // RFC 9293 3.10.7.1: an ACK for a connection that does not exist gets <SEQ=SEG.ACK><CTL=RST>.
    c.send(ACK, { ack: 777 });
    const rst = await c.next();
    assert.equal(rst.flags, RST);
    assert.equal(rst.seq, 777);
    // The host resets: the guest gets RST.
    const c2 = new GuestTcp(w, 45006, '10.0.2.2', srv.port);
    await c2.connect();
    while (hostSockets.length < 2) await sleep(5);
    hostSockets[1].resetAndDestroy();
    const r2 = await c2.next();
    assert.ok(r2.flags & RST);
    assert.equal(w.net.busy(), false);
  } finally {
    w.close();
    stop(srv);
  }
});

/** A deterministic pseudo-random sequence (a 32-bit LCG) for reproducible losses. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 0x100000000;
  };
}

test('tcp: with one in twenty frames to the guest lost, 200 KiB still arrive whole and in order', async () => {
  const w = new Wire();
  const body = Buffer.from(Array.from({ length: 200 * 1024 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));
  const srv = await listen((s) => s.end(body));
  try {
    const window = 20000;
    const c = new GuestTcp(w, 45008, '10.0.2.2', srv.port);
    await c.connect(window);
    const random = lcg(42);
    const got: Uint8Array[] = [];
    for (;;) {
      const seg = await c.next(2000);
      if (random() < 0.05) continue; // lost on the way (the NIC had no buffer)
      if (seg.seq !== c.rcvNxt) {
        c.send(ACK, { window }); // out of order: a duplicate ACK, as a receiver without a reassembly queue sends
        continue;
      }
      got.push(seg.payload.slice());
      c.rcvNxt = (c.rcvNxt + seg.payload.length + (seg.flags & FIN ? 1 : 0)) >>> 0;
      c.send(ACK, { window });
      if (seg.flags & FIN) break;
    }
    assert.ok(Buffer.concat(got).equals(body));
    assert.ok(w.net.stats['tcp.fast_retransmits'] >= 1);
  } finally {
    w.close();
    stop(srv);
  }
});

test('tcp: the host socket pauses while the guest window is closed, and a probe finds it open again', async () => {
  const w = new Wire();
  const body = Buffer.alloc(300 * 1024, 7);
  const srv = await listen((s) => s.end(body));
  try {
    const c = new GuestTcp(w, 45007, '10.0.2.2', srv.port);
    await c.connect(2920);
    let total = 0;
    // Take two segments, then advertise a zero window.
    for (let i = 0; i < 2; i++) {
      const seg = await c.next();
      total += seg.payload.length;
      c.rcvNxt = (c.rcvNxt + seg.payload.length) >>> 0;
    }
    c.send(ACK, { window: 0 });
    // A zero-window probe arrives (no data, below rcv_nxt); answer it with the window still closed.
    const probe = await c.next(1500);
    assert.equal(probe.payload.length, 0);
    assert.ok(w.net.stats['tcp.window_probes'] >= 1);
    // Now open the window and take everything.
    c.send(ACK, { window: 65535 });
    for (;;) {
      const seg = await c.next();
      if (seg.seq !== c.rcvNxt) continue;
      total += seg.payload.length;
      c.rcvNxt = (c.rcvNxt + seg.payload.length + (seg.flags & FIN ? 1 : 0)) >>> 0;
      c.send(ACK, { window: 65535 });
      if (seg.flags & FIN) break;
    }
    assert.equal(total, body.length);
    assert.ok(w.net.stats['tcp.host_reads_paused'] >= 1, 'reading the host socket paused while the queue was full');
  } finally {
    w.close();
    stop(srv);
  }
});

test('tcp: 200 KiB from the guest reach the host whole, sent within the window the backend offers', async () => {
  const w = new Wire();
  const body = Buffer.from(Array.from({ length: 200 * 1024 }, (_, i) => (i * 5 + (i >> 10)) & 0xff));
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve) => {
    void listen((s) => {
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => {
        s.end();
        resolve();
      });
    }).then((srv) => servers.push(srv));
  });
  const servers: Array<{ server: Server; port: number; sockets: Set<Socket> }> = [];
  try {
    while (servers.length === 0) await sleep(5);
    const c = new GuestTcp(w, 45009, '10.0.2.2', servers[0].port);
    const synAck = await c.connect();
    let acked = c.seq;
    let window = synAck.window;
    let sent = 0;
    const base = c.seq;
    while (((acked - base) | 0) < body.length) {
      // Fill the window, then wait for an ACK.
      while (sent < body.length && ((c.seq - acked) | 0) < window) {
        const n = Math.min(1460, body.length - sent, window - ((c.seq - acked) | 0));
        c.send(ACK, { payload: body.subarray(sent, sent + n) });
        c.seq = (c.seq + n) >>> 0;
        sent += n;
      }
      const seg = await c.next();
      acked = seg.ack;
      window = seg.window;
      if (window === 0) await sleep(5);
    }
    c.send(FIN | ACK);
    c.seq += 1;
    await done;
    assert.ok(Buffer.concat(chunks).equals(body));
  } finally {
    w.close();
    for (const s of servers) stop(s);
  }
});

test('tcp: a lost SYN-ACK is sent again; a repeated SYN is answered with it at once', async () => {
  const w = new Wire();
  const srv = await listen(() => {});
  try {
    const c = new GuestTcp(w, 45010, '10.0.2.2', srv.port);
    c.send(SYN, { options: Uint8Array.of(2, 4, 0x05, 0xb4) });
    const first = await c.next();
    assert.equal(first.flags, SYN | ACK);
    // No ACK: the timer resends it.
    const again = await c.next(1500);
    assert.equal(again.flags, SYN | ACK);
    assert.equal(again.seq, first.seq);
    // The guest repeats its SYN: the same SYN-ACK comes back.
    c.send(SYN, { options: Uint8Array.of(2, 4, 0x05, 0xb4) });
    const third = await c.next(100);
    assert.equal(third.flags, SYN | ACK);
    assert.equal(third.seq, first.seq);
  } finally {
    w.close();
    stop(srv);
  }
});
