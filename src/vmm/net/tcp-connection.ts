/**
 * One TCP connection between the guest and a host socket. Towards the guest
 * the user network plays the far end of the connection (its address and
 * port are what the guest connected to, or for a forwarded port the
 * gateway's); the byte stream is relayed to and from a `node:net` socket.
 *
 * Sequence handling follows RFC 9293 3.10 "Event Processing" for the states
 * this end can be in. Towards the guest this end keeps a retransmission queue
 * with a timer (RFC 6298), because the NIC drops frames the guest has no
 * buffers for; it sends within the guest's advertised window and stops
 * reading the host socket while too much is queued.
 */
import type { Socket } from 'node:net';
import { ByteQueue } from './byte-queue.js';
import { IP_PROTOCOL_TCP } from './ipv4.js';
import type { GuestLink } from './link.js';
import {
  buildTcp,
  seqAdd,
  seqDistance,
  seqGe,
  seqGt,
  seqLt,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  type TcpSegment,
} from './tcp.js';

/** The MSS this end announces: the Ethernet MTU less the IPv4 and TCP headers. */
export const OWN_MSS = 1460;
/** RFC 9293 3.7.1: a peer that sends no MSS option may be sent 536-byte segments. */
const DEFAULT_MSS = 536;
/** RFC 6298 2.1 starts at 1 s; a virtual link is fast, so 200 ms (the lower bound Linux uses too). */
const INITIAL_RTO_MS = 200;
const MIN_RTO_MS = 200;
const MAX_RTO_MS = 8000;
/** Retransmissions of one segment before the connection is given up (about a minute with backoff). */
const MAX_RETRIES = 12;
/** The receive window offered to the guest: what the host socket may hold unsent. */
const RECEIVE_BUFFER = 65535;
/** Bytes from the host kept for the guest (in flight or waiting for window) before reading pauses. */
const SEND_QUEUE_LIMIT = 128 * 1024;
const SEND_QUEUE_RESUME = 64 * 1024;
/** RFC 9293 3.6.1 wants 2 MSL; the only peer is the guest next door, so a short wait will do. */
const TIME_WAIT_MS = 2000;
/** RFC 5681 3.2: the third duplicate ACK triggers a retransmission. */
const DUP_ACK_THRESHOLD = 3;

export interface TcpEndpoints {
  guestIp: number;
  guestPort: number;
  /** The far end as the guest sees it. */
  remoteIp: number;
  remotePort: number;
}

type Phase =
  /** The guest's SYN arrived; the host socket is connecting. */
  | 'connecting'
  /** A forwarded host connection: our SYN went to the guest (RFC 9293 SYN-SENT). */
  | 'syn-sent'
  /** Our SYN-ACK went to the guest (RFC 9293 SYN-RECEIVED). */
  | 'syn-received'
  /** ESTABLISHED and the closing states, told apart by the FIN flags below. */
  | 'synchronized'
  | 'time-wait'
  | 'closed';

export class TcpConnection {
  private phase: Phase;
  private readonly iss = (Math.random() * 0x100000000) >>> 0;
  // RFC 9293 3.3.1 send sequence variables, plus the highest sequence number sent so far.
  private sndUna = this.iss;
  private sndNxt = this.iss;
  private sndMax = this.iss;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  // Receive sequence variables.
  private irs = 0;
  private rcvNxt = 0;
  private lastAdvertisedWindow = RECEIVE_BUFFER;
  /** Segment size towards the guest. */
  private mss = DEFAULT_MSS;
  /** Host bytes not yet acknowledged by the guest; the first is sequence number `queueSeq`. */
  private readonly queue = new ByteQueue();
  private queueSeq = seqAdd(this.iss, 1);
  /** The host socket ended: a FIN follows the queued bytes. */
  private hostEnded = false;
  /** The guest's FIN was received (and passed on to the host socket). */
  private guestFinReceived = false;
  /** Whether our FIN went out before the guest's arrived (then this end waits in TIME-WAIT). */
  private finFirst = false;
  private readingPaused = false;
  private socket: Socket | null;
  // Retransmission (RFC 6298).
  private timer: NodeJS.Timeout | null = null;
  private rto = INITIAL_RTO_MS;
  private retries = 0;
  private srtt: number | null = null;
  private rttvar = 0;
  /** The round trip being timed: the ACK that covers `rttSeq` completes it (Karn: only unretransmitted data). */
  private rttSeq: number | null = null;
  private rttStart = 0;
  private dupAcks = 0;
  /** After a fast retransmit, the highest sequence number sent then: ACKs below it are partial (RFC 6582 3.2). */
  private recover: number | null = null;
  private timeWaitTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly link: GuestLink,
    readonly endpoints: TcpEndpoints,
    socket: Socket,
    phase: Phase,
    private readonly onClosed: (c: TcpConnection) => void,
  ) {
    this.socket = socket;
    this.phase = phase;
  }

  /**
   * A connection the guest opened with `syn`; `socket` is the host socket
   * connecting on its behalf (created with allowHalfOpen, so that each
   * direction closes on its own, RFC 9293 3.6).
   */
  static fromGuestSyn(link: GuestLink, endpoints: TcpEndpoints, syn: TcpSegment, socket: Socket, onClosed: (c: TcpConnection) => void): TcpConnection {
    const c = new TcpConnection(link, endpoints, socket, 'connecting', onClosed);
    c.irs = syn.seq;
    c.rcvNxt = seqAdd(syn.seq, 1);
    c.takePeerSynParameters(syn);
    socket.once('connect', () => c.hostConnected());
    c.watchSocket(socket);
    return c;
  }

  /** A connection accepted from the host (a port forward), to be opened towards the guest. */
  static fromHost(link: GuestLink, endpoints: TcpEndpoints, socket: Socket, onClosed: (c: TcpConnection) => void): TcpConnection {
    const c = new TcpConnection(link, endpoints, socket, 'syn-sent', onClosed);
    socket.pause(); // nothing is read until the guest accepts
    c.watchSocket(socket);
    c.transmit();
    return c;
  }

  get isTimeWait(): boolean {
    return this.phase === 'time-wait';
  }

  /** The RFC 9293 state name, for diagnostics. */
  get state(): string {
    switch (this.phase) {
      case 'connecting':
        return 'SYN-RECEIVED (connecting on the host)';
      case 'syn-sent':
        return 'SYN-SENT';
      case 'syn-received':
        return 'SYN-RECEIVED';
      case 'time-wait':
        return 'TIME-WAIT';
      case 'closed':
        return 'CLOSED';
      case 'synchronized': {
        const finSent = this.finSent();
        if (!finSent) return this.guestFinReceived ? 'CLOSE-WAIT' : 'ESTABLISHED';
        if (this.guestFinReceived) return this.finAcked() ? 'CLOSED' : this.finFirst ? 'CLOSING' : 'LAST-ACK';
        return this.finAcked() ? 'FIN-WAIT-2' : 'FIN-WAIT-1';
      }
    }
  }

  private finSeq(): number {
    return seqAdd(this.queueSeq, this.queue.length);
  }

  private finSent(): boolean {
    return this.hostEnded && seqGt(this.sndMax, this.finSeq());
  }

  private finAcked(): boolean {
    return this.hostEnded && seqGt(this.sndUna, this.finSeq());
  }

  private takePeerSynParameters(syn: TcpSegment): void {
    this.mss = Math.min(OWN_MSS, Math.max(64, syn.mss ?? DEFAULT_MSS));
    // The window in a SYN is never scaled (RFC 7323 2.2), and this end never offers scaling.
    this.sndWnd = syn.window;
    this.sndWl1 = syn.seq;
    this.sndWl2 = syn.ack;
  }

  private watchSocket(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (this.phase === 'closed' || this.phase === 'time-wait') return;
      this.queue.push(chunk);
      if (this.queue.length >= SEND_QUEUE_LIMIT && !this.readingPaused) {
        this.link.count('tcp.host_reads_paused');
        this.readingPaused = true;
        socket.pause();
      }
      this.transmit();
    });
    socket.on('end', () => {
      if (this.phase === 'closed' || this.phase === 'time-wait') return;
      this.hostEnded = true;
      this.transmit();
    });
    socket.on('drain', () => {
      // The host took what was written: tell a guest that saw a small window that it has opened.
      if (this.phase === 'synchronized' && this.lastAdvertisedWindow < RECEIVE_BUFFER / 2) this.sendAck();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (this.phase === 'closed' || this.phase === 'time-wait') return; // the guest side is done already
      if (this.phase === 'connecting') {
        this.link.count('tcp.connect_failed');
        this.link.log(`tcp: connect for ${this.describe()} failed: ${e.code ?? e.message}`);
        // RFC 9293 3.10.7.2: the reset for a SYN that was not accepted has SEQ 0 and ACKs the SYN.
        this.emit(TCP_RST | TCP_ACK, 0);
        this.finish();
        return;
      }
      this.link.count('tcp.host_error');
      this.link.log(`tcp: host socket for ${this.describe()}: ${e.code ?? e.message}`);
      this.abort();
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      // A host socket that closes with an error was handled above; one closed without
      // ending (destroyed under us) leaves the guest nothing to receive: reset.
      if (this.phase !== 'closed' && this.phase !== 'time-wait' && !this.hostEnded) this.abort();
    });
  }

  private describe(): string {
    const e = this.endpoints;
    const ip = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
    return `${ip(e.guestIp)}:${e.guestPort} <-> ${ip(e.remoteIp)}:${e.remotePort} (${this.state})`;
  }

  private hostConnected(): void {
    if (this.phase !== 'connecting') return;
    this.link.count('tcp.connected');
    this.phase = 'syn-received';
    this.transmit();
  }

  /** A segment from the guest for this connection (RFC 9293 3.10.7 "SEGMENT ARRIVES"). */
  segmentArrives(seg: TcpSegment): void {
    switch (this.phase) {
      case 'closed':
        return;
      case 'connecting':
        // The host has not answered yet: a repeated SYN waits with the first; a reset gives up.
        if (seg.flags & TCP_RST) {
          this.link.count('tcp.rst_received');
          this.finish();
        }
        return;
      case 'syn-sent':
        this.synSentArrives(seg);
        return;
      case 'time-wait':
        // RFC 9293 3.10.7.4: a retransmitted FIN is acknowledged again.
        if (seg.flags & TCP_RST) this.finish();
        else if (seg.flags & TCP_FIN) this.sendAck();
        return;
      default:
        this.synchronizedArrives(seg);
    }
  }

  /** RFC 9293 3.10.7.3 "If the state is SYN-SENT". */
  private synSentArrives(seg: TcpSegment): void {
    const ackAcceptable = (seg.flags & TCP_ACK) !== 0 && seg.ack === seqAdd(this.iss, 1);
    if (seg.flags & TCP_ACK && !ackAcceptable) {
      if (!(seg.flags & TCP_RST)) this.emitRaw(TCP_RST, seg.ack, 0);
      return;
    }
    if (seg.flags & TCP_RST) {
      if (ackAcceptable) {
        // The guest refused: so does the forwarded port, with a reset.
        this.link.count('tcp.refused_by_guest');
        this.resetHost();
        this.finish();
      }
      return;
    }
    if (!(seg.flags & TCP_SYN) || !ackAcceptable) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.takePeerSynParameters(seg);
    this.acknowledge(seg.ack);
    this.phase = 'synchronized';
    this.link.count('tcp.connected');
    this.socket?.resume();
    if (!this.transmit()) this.sendAck();
  }

  private synchronizedArrives(seg: TcpSegment): void {
    // First, the sequence number (RFC 9293 3.10.7.4): is any of the segment in the receive window?
    // Data from before rcvNxt is trimmed below; a reset must fall in the window (RFC 5961 3).
    if (seg.flags & TCP_RST) {
      const offset = seqDistance(this.rcvNxt, seg.seq);
      if (offset >= 0 && offset < Math.max(1, this.receiveWindow())) {
        this.link.count('tcp.rst_received');
        this.resetHost();
        this.finish();
      }
      return;
    }
    if (seg.flags & TCP_SYN) {
      // Our SYN-ACK was lost and the guest repeats its SYN: answer it again.
      if (this.phase === 'syn-received' && seg.seq === this.irs && !(seg.flags & TCP_ACK)) {
        this.sndNxt = this.iss;
        this.transmit();
        return;
      }
      // RFC 5961 4.2: any other SYN gets a "challenge ACK" (a guest that restarted answers it with a reset).
      this.sendAck();
      return;
    }
    if (!(seg.flags & TCP_ACK)) return;
    if (this.phase === 'syn-received') {
      // RFC 9293 3.10.7.4 "SYN-RECEIVED STATE": an acceptable ACK completes the handshake.
      if (seqGt(seg.ack, this.sndUna) && seqGe(this.sndMax, seg.ack)) {
        this.phase = 'synchronized';
      } else {
        this.emitRaw(TCP_RST, seg.ack, 0);
        return;
      }
    }
    let mustAck = false;
    if (seqGt(seg.ack, this.sndMax)) {
      // It acknowledges something not yet sent: answer with an ACK and drop it.
      this.link.count('tcp.ack_beyond_sent');
      this.sendAck();
      return;
    }
    const windowBefore = this.sndWnd;
    if (seqGt(seg.ack, this.sndUna)) {
      this.acknowledge(seg.ack);
    } else if (
      seg.ack === this.sndUna &&
      seg.payload.length === 0 &&
      !(seg.flags & TCP_FIN) &&
      seg.window === windowBefore &&
      seqGt(this.sndMax, this.sndUna)
    ) {
      // RFC 5681 2 "duplicate acknowledgment"; the third one resends the first unacknowledged segment (3.2).
      if (++this.dupAcks === DUP_ACK_THRESHOLD) this.fastRetransmit();
    }
    this.retries = 0; // the guest is alive
    // Window update rule (RFC 9293 3.10.7.4 "ESTABLISHED STATE"): only from a segment newer than the last one used.
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqGe(seg.ack, this.sndWl2))) {
      this.sndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
    }

    // The segment text (RFC 9293 3.10.7.4 "seventh, process the segment text") and FIN ("eighth").
    let data = seg.payload;
    let fin = (seg.flags & TCP_FIN) !== 0;
    let seq = seg.seq;
    if (this.guestFinReceived) {
      if (data.length > 0 || fin) mustAck = true; // a repeat of what came before the FIN
      data = data.subarray(0, 0);
      fin = false;
    } else {
      const old = seqDistance(seq, this.rcvNxt);
      if (old > 0) {
        // Part or all of it arrived before: keep only what is new.
        if (old > data.length) {
          data = data.subarray(0, 0);
          fin = false;
          mustAck = true;
        } else {
          data = data.subarray(old);
          seq = this.rcvNxt;
          if (data.length === 0 && !fin) mustAck = true;
        }
        this.link.count('tcp.duplicate_segments');
      }
      if (seq !== this.rcvNxt && (data.length > 0 || fin)) {
        // Out of order: this end keeps no reassembly queue; the ACK tells the guest where to resume.
        this.link.count('tcp.out_of_order_dropped');
        data = data.subarray(0, 0);
        fin = false;
        mustAck = true;
      }
    }
    if (data.length > 0) {
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
      this.link.count('tcp.bytes_from_guest', data.length);
      // A copy: the frame the data sits in belongs to the NIC.
      this.socket?.write(Buffer.from(data));
      mustAck = true;
    }
    if (fin) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.guestFinReceived = true;
      this.finFirst = this.finSent();
      this.socket?.end();
      mustAck = true;
    }
    // Whatever the ACK or a wider window lets out carries the acknowledgment too.
    if (this.transmit()) mustAck = false;
    if (mustAck) this.sendAck();
    this.checkFinished();
  }

  /** New data (or our SYN or FIN) acknowledged up to `ack` (RFC 9293 3.10.7.4, RFC 6298 5.3). */
  private acknowledge(ack: number): void {
    const queued = seqDistance(this.queueSeq, ack);
    if (queued > 0) {
      const n = Math.min(queued, this.queue.length);
      this.queue.consume(n);
      this.queueSeq = seqAdd(this.queueSeq, n);
    }
    if (this.rttSeq !== null && seqGe(ack, this.rttSeq)) {
      this.rttSample(Date.now() - this.rttStart);
      this.rttSeq = null;
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.dupAcks = 0;
    if (this.recover !== null) {
      // RFC 6582 3.2 step 3: a partial ACK during fast recovery means the next segment was lost too: resend it now.
      if (seqLt(ack, this.recover)) this.retransmitFirst();
      else this.recover = null;
    }
    this.retries = 0;
    this.rto = this.computedRto();
    this.stopTimer();
    if (this.readingPaused && this.queue.length < SEND_QUEUE_RESUME && this.socket !== null) {
      this.readingPaused = false;
      this.socket.resume();
    }
    this.armTimer();
  }

  /** RFC 6298 2.2-2.3. */
  private rttSample(r: number): void {
    if (this.srtt === null) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
  }

  private computedRto(): number {
    if (this.srtt === null) return INITIAL_RTO_MS;
    return Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.srtt + Math.max(10, 4 * this.rttvar)));
  }

  /** The window offered to the guest: room left in the host socket's write buffer. */
  private receiveWindow(): number {
    const pending = this.socket?.writableLength ?? 0;
    return Math.max(0, Math.min(0xffff, RECEIVE_BUFFER - pending));
  }

  /**
   * Sends what may be sent now (RFC 9293 3.10.4 "SEND Call" semantics for
   * the host's data, 3.8.6 for the window): the SYN while the handshake is
   * on, else queued data within the guest's window in segments of at most
   * MSS, then the FIN once the host has ended and everything is out.
   * Returns whether anything was sent (which carries an ACK).
   */
  private transmit(): boolean {
    if (this.phase === 'syn-sent' || this.phase === 'syn-received') {
      if (this.sndNxt !== this.iss) return false;
      const flags = this.phase === 'syn-sent' ? TCP_SYN : TCP_SYN | TCP_ACK;
      this.emit(flags, this.iss, undefined, OWN_MSS);
      this.sndNxt = seqAdd(this.iss, 1);
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      this.armTimer();
      return true;
    }
    if (this.phase !== 'synchronized') return false;
    let sent = false;
    for (;;) {
      const offset = seqDistance(this.queueSeq, this.sndNxt);
      const unsent = this.queue.length - offset;
      const usable = seqDistance(this.sndNxt, seqAdd(this.sndUna, this.sndWnd));
      const n = Math.min(unsent, usable, this.mss);
      if (n <= 0) break;
      const data = this.queue.read(offset, n);
      const flags = TCP_ACK | (n === unsent ? TCP_PSH : 0);
      this.emit(flags, this.sndNxt, data);
      this.link.count('tcp.bytes_to_guest', n);
      const end = seqAdd(this.sndNxt, n);
      // Time one segment at a time, and never a retransmitted one (RFC 6298 3, Karn's algorithm).
      if (this.rttSeq === null && seqGe(this.sndNxt, this.sndMax)) {
        this.rttSeq = end;
        this.rttStart = Date.now();
      }
      this.sndNxt = end;
      if (seqGt(end, this.sndMax)) this.sndMax = end;
      sent = true;
    }
    if (this.hostEnded && this.sndNxt === this.finSeq()) {
      this.emit(TCP_ACK | TCP_FIN, this.sndNxt);
      this.sndNxt = seqAdd(this.sndNxt, 1);
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      sent = true;
    }
    this.armTimer();
    return sent;
  }

  /** RFC 5681 3.2: resend the first unacknowledged segment without waiting for the timer. */
  private fastRetransmit(): void {
    this.link.count('tcp.fast_retransmits');
    this.recover = this.sndMax;
    this.retransmitFirst();
  }

  private retransmitFirst(): void {
    this.rttSeq = null;
    const offset = seqDistance(this.queueSeq, this.sndUna);
    const n = Math.min(this.mss, this.queue.length - offset, seqDistance(this.sndUna, this.sndMax));
    if (n > 0) this.emit(TCP_ACK, this.sndUna, this.queue.read(offset, n));
    else if (this.hostEnded && this.sndUna === this.finSeq()) this.emit(TCP_ACK | TCP_FIN, this.sndUna);
  }

  /** Whether something sent waits for its ACK, or data waits for the guest's window to open. */
  private armTimer(): void {
    if (this.timer !== null || this.phase === 'closed' || this.phase === 'time-wait') return;
    const outstanding = seqGt(this.sndMax, this.sndUna);
    const unsent = this.queue.length - seqDistance(this.queueSeq, this.sndNxt);
    const windowClosed = this.phase === 'synchronized' && this.sndWnd === 0 && unsent > 0;
    if (!outstanding && !windowClosed) return;
    this.timer = setTimeout(() => this.timerExpired(), this.rto);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** RFC 6298 5.4-5.7: resend from the first unacknowledged byte, and double the timeout. */
  private timerExpired(): void {
    this.timer = null;
    if (this.phase === 'closed' || this.phase === 'time-wait') return;
    if (++this.retries > MAX_RETRIES) {
      this.link.count('tcp.retransmit_timeouts');
      this.link.log(`tcp: ${this.describe()}: the guest stopped answering; resetting`);
      this.abort();
      return;
    }
    this.rto = Math.min(MAX_RTO_MS, this.rto * 2);
    this.rttSeq = null;
    this.recover = null;
    if (seqGt(this.sndMax, this.sndUna)) {
      this.link.count('tcp.retransmits');
      this.sndNxt = this.sndUna;
      this.transmit();
    } else {
      // RFC 9293 3.8.6.1 zero-window probe: a segment just below the window, which the
      // guest must answer with an ACK that carries its current window.
      this.link.count('tcp.window_probes');
      this.emit(TCP_ACK, seqAdd(this.sndUna, -1));
    }
    this.armTimer();
  }

  private checkFinished(): void {
    if (this.phase !== 'synchronized' || !this.guestFinReceived || !this.finAcked()) return;
    this.stopTimer();
    // Both directions are closed; the host socket closes itself once its last writes are flushed.
    if (this.finFirst) {
      // RFC 9293 3.6: the side that closed first waits, to acknowledge a FIN repeated because our ACK was lost.
      this.phase = 'time-wait';
      this.timeWaitTimer = setTimeout(() => this.finish(false), TIME_WAIT_MS);
      this.timeWaitTimer.unref();
    } else {
      this.finish(false);
    }
  }

  /** Gives the connection up: a reset to the guest and to the host. */
  abort(): void {
    if (this.phase === 'closed' || this.phase === 'time-wait') return;
    if (this.phase === 'connecting') this.emit(TCP_RST | TCP_ACK, 0);
    else if (this.phase === 'syn-sent') this.emitRaw(TCP_RST, this.sndNxt, 0);
    else this.emit(TCP_RST | TCP_ACK, this.sndNxt);
    this.link.count('tcp.rst_sent');
    this.resetHost();
    this.finish();
  }

  private resetHost(): void {
    const s = this.socket;
    if (s === null || s.destroyed) return;
    // RFC 9293 3.10.7.4: the user is told "connection reset"; the host peer sees a reset too.
    if (!s.connecting && s.readyState !== 'closed') s.resetAndDestroy();
    else s.destroy();
  }

  /** Forgets the connection: timers stopped, the host socket destroyed (unless it closes by itself), and the table told. */
  finish(destroySocket = true): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.stopTimer();
    if (this.timeWaitTimer !== null) clearTimeout(this.timeWaitTimer);
    this.timeWaitTimer = null;
    this.queue.clear();
    if (destroySocket) this.socket?.destroy();
    this.socket = null;
    this.onClosed(this);
  }

  private sendAck(): void {
    this.emit(TCP_ACK, this.sndNxt);
  }

  /** Sends a segment with the current acknowledgment and window. */
  private emit(flags: number, seq: number, payload?: Uint8Array, mss?: number): void {
    const window = this.receiveWindow();
    this.lastAdvertisedWindow = window;
    this.send(flags, seq, flags & TCP_ACK ? this.rcvNxt : 0, window, payload, mss);
  }

  /** Sends a reset answering an unacceptable segment (SEQ from its ACK, RFC 9293 3.10.7.2). */
  private emitRaw(flags: number, seq: number, ack: number): void {
    this.send(flags, seq, ack, 0);
  }

  private send(flags: number, seq: number, ack: number, window: number, payload?: Uint8Array, mss?: number): void {
    const e = this.endpoints;
    const segment = buildTcp({
      source: e.remoteIp,
      sourcePort: e.remotePort,
      destination: e.guestIp,
      destinationPort: e.guestPort,
      seq,
      ack,
      flags,
      window,
      mss,
      payload,
    });
    this.link.sendIpv4({ source: e.remoteIp, destination: e.guestIp, protocol: IP_PROTOCOL_TCP, payload: segment, dontFragment: true });
  }
}
