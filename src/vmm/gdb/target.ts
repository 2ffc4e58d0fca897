/**
 * What the GDB server (server.ts) needs from a machine. CPUs are numbered
 * 0..cpus-1 (GDB's threads 1..cpus); addresses are virtual, as the CPU sees
 * them; the machine is all-stop (every CPU stops when one does).
 */
export interface GdbTarget {
  readonly cpus: number;
  /** The target description XML (for qXfer:features:read:target.xml). */
  readonly targetXml: string;
  /** All registers of `cpu` in target-description order, little-endian, as raw bytes. */
  readRegisters(cpu: number): Uint8Array;
  writeRegisters(cpu: number, bytes: Uint8Array): void;
  /** One register by its number in the description (null: no such register). */
  readRegister(cpu: number, n: number): Uint8Array | null;
  writeRegister(cpu: number, n: number, bytes: Uint8Array): boolean;
  /** Virtual memory as `cpu` sees it; null when nothing of [addr, addr+len) is readable (a partial read may return fewer bytes). */
  readMemory(cpu: number, addr: bigint, len: number): Uint8Array | null;
  writeMemory(cpu: number, addr: bigint, data: Uint8Array): boolean;
  insertBreakpoint(addr: bigint): boolean;
  removeBreakpoint(addr: bigint): boolean;
  /** Runs the machine: every CPU continues, or `stepCpu` alone executes one instruction. Returns at once; onStop is called later. */
  resume(stepCpu: number | null): void;
  /** Stops a running machine (GDB's Ctrl-C); onStop follows. */
  interrupt(): void;
  /** Set by the server: the machine stopped, on `cpu`, for `reason`, or it ended ('exited', code). */
  onStop: ((e: { kind: 'stopped'; cpu: number; reason: 'breakpoint' | 'step' | 'interrupt' } | { kind: 'exited'; code: number }) => void) | null;
}
