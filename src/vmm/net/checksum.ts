/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
 * complement sum of the data taken as big-endian 16-bit words, an odd last
 * byte padded with zero. Used by IPv4 (RFC 791), ICMP (RFC 792), UDP (RFC 768)
 * and TCP (RFC 9293 3.1), the last two over a pseudo-header as well.
 */

/** Adds `length` bytes at `offset` to a running 32-bit sum (carries folded later). */
export function sumWords(data: Uint8Array, offset: number, length: number, sum = 0): number {
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (i < end) sum += data[i] << 8;
  // Fold now and then so the sum stays a small integer (RFC 1071 1.2 "deferred carries").
  return sum > 0x7fffffff ? foldCarries(sum) : sum;
}

/** Folds the carries of a running sum into 16 bits (RFC 1071 1.2 "end around carry"). */
export function foldCarries(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for data whose running sum is `sum`. */
export function finishChecksum(sum: number): number {
  return ~foldCarries(sum) & 0xffff;
}

/** The Internet checksum of a byte range. Over a range that includes a correct checksum it is 0. */
export function internetChecksum(data: Uint8Array, offset = 0, length = data.length - offset): number {
  return finishChecksum(sumWords(data, offset, length));
}

/**
 * The sum of the IPv4 pseudo-header that UDP (RFC 768) and TCP (RFC 9293 3.1)
 * checksums also cover: source, destination, zero, protocol, and the length of
 * the UDP datagram or TCP segment.
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** The checksum of a UDP datagram or TCP segment (`length` bytes at `offset`) with its pseudo-header. */
export function transportChecksum(src: number, dst: number, protocol: number, data: Uint8Array, offset: number, length: number): number {
  return finishChecksum(sumWords(data, offset, length, pseudoHeaderSum(src, dst, protocol, length)));
}
