/**
 * GDB Remote Serial Protocol framing (GDB manual, "Remote Protocol" appendix):
 *  - a packet is `$data#xx`, xx the sum of the data bytes modulo 256 as two
 *    hex digits (sent lower-case; either case accepted);
 *  - each good packet is acknowledged with `+`, a bad checksum with `-` (the
 *    sender retransmits) — until QStartNoAckMode turns acknowledgments off;
 *  - binary data (X packets, qXfer replies) escapes `#`, `$`, `}` and `*` as
 *    `}` followed by the byte XOR 0x20;
 *  - a lone 0x03 byte outside any packet is an interrupt request (Ctrl-C).
 * Strings here are latin1: one character per byte.
 */

/** The interrupt byte GDB sends outside packets. */
export const INTERRUPT = 0x03;
/** The escape byte of binary data. */
export const ESCAPE = 0x7d; // '}'

const DOLLAR = 0x24, HASH = 0x23, STAR = 0x2a, PLUS = 0x2b, MINUS = 0x2d;
/** Packets longer than this (before the checksum) are dropped as garbage. */
const MAX_PACKET = 1 << 20;

export type RspEvent =
  /** A packet with a good checksum; `data` raw (still escaped), `text` the same bytes as a latin1 string. */
  | { kind: 'packet'; data: Uint8Array; text: string }
  /** A packet with a bad checksum (or too long): answer `-` when acknowledging. */
  | { kind: 'badChecksum'; data: Uint8Array }
  | { kind: 'interrupt' }
  | { kind: 'ack' }
  | { kind: 'nack' };

/** Bytes of a latin1 string (characters above 0xff are truncated to their low byte). */
export function latin1(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

/** The modulo-256 sum of `data`. */
export function checksum(data: Uint8Array): number {
  let sum = 0;
  for (const b of data) sum = (sum + b) & 0xff;
  return sum;
}

/** Lower-case hex of `bytes`, two digits each. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** The bytes of an even-length hex string (either case), or null when it is not one. */
export function fromHex(s: string): Uint8Array | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

function needsEscape(b: number): boolean {
  return b === HASH || b === DOLLAR || b === ESCAPE || b === STAR;
}

/** Binary data escaped for a packet: `#`, `$`, `}`, `*` become `}` and the byte ^ 0x20. */
export function escapeBinary(data: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of data) if (needsEscape(b)) extra++;
  if (extra === 0) return data;
  const out = new Uint8Array(data.length + extra);
  let o = 0;
  for (const b of data) {
    if (needsEscape(b)) {
      out[o++] = ESCAPE;
      out[o++] = b ^ 0x20;
    } else out[o++] = b;
  }
  return out;
}

/** Escaped binary data decoded; null when it ends in a lone `}`. */
export function unescapeBinary(data: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(data.length);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === ESCAPE) {
      if (++i >= data.length) return null;
      out[o++] = data[i] ^ 0x20;
    } else out[o++] = data[i];
  }
  return out.subarray(0, o);
}

/** `$payload#xx`. The payload goes as it is (escape binary data first); strings are latin1. */
export function framePacket(payload: string | Uint8Array): Buffer {
  const body = typeof payload === 'string' ? latin1(payload) : payload;
  const out = Buffer.alloc(body.length + 4);
  out[0] = DOLLAR;
  out.set(body, 1);
  out[body.length + 1] = HASH;
  out.write(checksum(body).toString(16).padStart(2, '0'), body.length + 2, 'latin1');
  return out;
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

/**
 * A streaming decoder of the bytes a peer sends: feed it chunks as they
 * arrive, in order; it returns the complete events each chunk finished.
 * Between packets only `$`, `+`, `-` and 0x03 mean something; other bytes are
 * skipped. A `$` inside a packet starts it over (the earlier one was cut short).
 */
export class RspDecoder {
  private state: 'idle' | 'data' | 'sum1' | 'sum2' = 'idle';
  private buf: number[] = [];
  private sum = 0;
  private overflow = false;

  feed(chunk: Uint8Array): RspEvent[] {
    const events: RspEvent[] = [];
    for (const b of chunk) {
      switch (this.state) {
        case 'idle':
          if (b === DOLLAR) this.start();
          else if (b === PLUS) events.push({ kind: 'ack' });
          else if (b === MINUS) events.push({ kind: 'nack' });
          else if (b === INTERRUPT) events.push({ kind: 'interrupt' });
          break;
        case 'data':
          if (b === HASH) this.state = 'sum1';
          else if (b === DOLLAR) this.start();
          else if (this.buf.length < MAX_PACKET) this.buf.push(b);
          else this.overflow = true;
          break;
        case 'sum1':
          this.sum = hexDigit(b) << 4;
          if (hexDigit(b) < 0) this.sum = -1;
          this.state = 'sum2';
          break;
        case 'sum2': {
          const lo = hexDigit(b);
          const data = Uint8Array.from(this.buf);
          const good = this.sum >= 0 && lo >= 0 && (this.sum | lo) === checksum(data) && !this.overflow;
          events.push(good ? { kind: 'packet', data, text: Buffer.from(data).toString('latin1') } : { kind: 'badChecksum', data });
          this.state = 'idle';
          this.buf = [];
          break;
        }
      }
    }
    return events;
  }

  private start(): void {
    this.state = 'data';
    this.buf = [];
    this.overflow = false;
  }
}
