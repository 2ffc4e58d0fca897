/** ICMP echo (RFC 792 "Echo or Echo Reply Message"), answered by the gateway itself. */
import { internetChecksum } from './checksum.js';

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
const ICMP_HEADER_LENGTH = 8;

export type IcmpEchoResult = { reply: Uint8Array } | 'truncated' | 'checksum' | 'not-echo-request';

/**
 * The echo reply to an ICMP message if it is an echo request: the same
 * identifier, sequence number and data, type 0, checksum recomputed.
 */
export function answerEcho(icmp: Uint8Array): IcmpEchoResult {
  if (icmp.length < ICMP_HEADER_LENGTH) return 'truncated';
  if (internetChecksum(icmp) !== 0) return 'checksum';
  if (icmp[0] !== ICMP_ECHO_REQUEST || icmp[1] !== 0) return 'not-echo-request';
  const reply = icmp.slice();
  reply[0] = ICMP_ECHO_REPLY;
  reply[2] = 0;
  reply[3] = 0;
  const checksum = internetChecksum(reply);
  reply[2] = checksum >>> 8;
  reply[3] = checksum & 0xff;
  return { reply };
}
