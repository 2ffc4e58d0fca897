/** A network backend behind a NIC: frames are whole Ethernet frames (destination MAC first, no FCS). */
export interface NetBackend {
  /** A frame the guest transmitted. Never throws on malformed input (drops it, counting it in stats). */
  send(frame: Uint8Array): void;
  /** Set by the NIC: called with each frame for the guest (may be called asynchronously from socket callbacks). */
  onReceive: ((frame: Uint8Array) => void) | null;
  /** Closes host sockets/listeners; afterwards nothing calls onReceive. */
  close(): void;
  /**
   * Whether the backend is waiting on the host for the guest (a connection
   * open, a datagram unanswered): the machine then lets idle time pass in
   * host time rather than skipping ahead. Optional.
   */
  busy?(): boolean;
}
