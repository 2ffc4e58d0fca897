/** What the protocol handlers of the user network need from it to answer the guest. */
import type { Ipv4Send } from './ipv4.js';

export interface GuestLink {
  /** Sends an IPv4 packet to the guest address `p.destination` (framed, and fragmented if it needs to be). */
  sendIpv4(p: Ipv4Send): void;
  /** Counts an event in the backend's stats. */
  count(name: string, n?: number): void;
  /** A diagnostic message. */
  log(message: string): void;
}
