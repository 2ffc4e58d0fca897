/**
 * A trace of what every vCPU of a VM did, in the Trace Event Format that
 * Perfetto (ui.perfetto.dev) and chrome://tracing open: one track per vCPU
 * on the guest's clock (the system counter, so the vCPUs that one host
 * thread runs in turn appear side by side, as the guest saw them), with
 *  - a slice for each time the vCPU slept in WFI, until its wake-up;
 *  - an instant for each exit and what L0 made of it (MMIO with its IPA, a
 *    stage-2 fault, a system-register trap with the register's name, an
 *    HVC/SMC with its function id, an SGI, an injected abort...), with the
 *    guest PC (ELR_EL2);
 *  - a counter per vCPU of exits per millisecond of guest time.
 * It hooks `Vcpu.onStat`, so it sees exactly the events `--stats` counts.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { STAT_NAMES } from '../hyp/exits.js';
import type { Vm } from '../hyp/vm.js';
import type { Vcpu } from '../hyp/vcpu.js';
import { SYSREG_BY_KEY, sysregKey } from '../arch/sysregs.js';

const PID = 1;
/** Events kept in memory before they are written out. */
const FLUSH_EVERY = 4096;

const statIndex = (name: (typeof STAT_NAMES)[number]): number => STAT_NAMES.indexOf(name);
const EXITS = statIndex('exits');
const WFI = statIndex('wfi');
const WAKEUP = statIndex('wakeup');
/** What the event's argument is, by counter. */
const ARG_KIND: ReadonlyMap<number, 'ipa' | 'function' | 'esr'> = new Map([
  [statIndex('mmio-read'), 'ipa'], [statIndex('mmio-write'), 'ipa'], [statIndex('mmio-vgic'), 'ipa'], [statIndex('stage2-fault'), 'ipa'],
  [statIndex('hvc'), 'function'], [statIndex('smc'), 'function'], [statIndex('sysreg'), 'esr'],
]);

const hex = (v: number): string => `0x${v.toString(16)}`;

/** The trapped MSR/MRS an ESR_EL2 of EC 0x18 describes, by name where the register has one. */
function sysregAccess(esr: number): string {
  const crm = (esr >>> 1) & 15, crn = (esr >>> 10) & 15, op1 = (esr >>> 14) & 7, op2 = (esr >>> 17) & 7, op0 = (esr >>> 20) & 3;
  const name = SYSREG_BY_KEY.get(sysregKey(op0, op1, crn, crm, op2))?.name ?? `S${op0}_${op1}_C${crn}_C${crm}_${op2}`;
  return `${esr & 1 ? 'MRS' : 'MSR'} ${name}`;
}

interface Track {
  sleeping: boolean;
  /** The millisecond of guest time whose exits are being counted, and how many so far. */
  bucket: number;
  exits: number;
}

export interface ExitTraceOptions {
  /** Events written at most (default 5 million, some 600 MB); later ones are counted, not written. */
  maxEvents?: number;
}

export class ExitTrace {
  /** Events written (metadata included). */
  written = 0;
  /** Events not written because of maxEvents. */
  dropped = 0;
  private readonly pending: string[] = [];
  private readonly tracks = new Map<Vcpu, Track>();
  private readonly maxEvents: number;
  private first = true;
  private closed = false;

  constructor(vm: Vm, private readonly write: (chunk: string) => void, opts: ExitTraceOptions = {}) {
    this.maxEvents = opts.maxEvents ?? 5_000_000;
    this.write('{"displayTimeUnit":"ns","traceEvents":[\n');
    this.emit({ name: 'process_name', ph: 'M', pid: PID, args: { name: 'nestvisor VM (guest time)' } });
    for (const v of vm.vcpus) {
      this.emit({ name: 'thread_name', ph: 'M', pid: PID, tid: v.index, args: { name: `vCPU ${v.index}` } });
      this.emit({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: v.index, args: { sort_index: v.index } });
      this.tracks.set(v, { sleeping: false, bucket: -1, exits: 0 });
      v.onStat = (vcpu, stat, arg) => this.onStat(vcpu, stat, arg);
    }
  }

  /** A trace written to the file at `path` (created or truncated). */
  static toFile(vm: Vm, path: string, opts: ExitTraceOptions = {}): ExitTrace {
    const fd = openSync(path, 'w');
    const t = new ExitTrace(vm, (s) => writeSync(fd, s), opts);
    t.onClose = () => closeSync(fd);
    return t;
  }

  private onClose: (() => void) | null = null;

  /** Guest time of vCPU `v` in microseconds (its system counter). */
  private static micros(v: Vcpu): number {
    return (v.pe.timer.physicalCount() * 1e6) / v.pe.features.cntfrq;
  }

  private onStat(v: Vcpu, stat: number, arg: number): void {
    const t = this.tracks.get(v)!;
    const ts = ExitTrace.micros(v);
    if (stat === EXITS) {
      this.countExit(v, t, ts);
      return;
    }
    if (stat === WFI) {
      if (!t.sleeping) this.emit({ name: 'WFI', cat: 'idle', ph: 'B', pid: PID, tid: v.index, ts });
      t.sleeping = true;
      return;
    }
    if (stat === WAKEUP) {
      if (t.sleeping) this.emit({ name: 'WFI', cat: 'idle', ph: 'E', pid: PID, tid: v.index, ts });
      t.sleeping = false;
      return;
    }
    const args: Record<string, string> = { pc: hex(Number(v.pe.readSysreg('ELR_EL2'))) };
    const kind = ARG_KIND.get(stat);
    if (kind !== undefined && arg >= 0) args[kind] = kind === 'esr' ? sysregAccess(arg) : hex(arg);
    this.emit({ name: STAT_NAMES[stat], cat: 'exit', ph: 'i', s: 't', pid: PID, tid: v.index, ts, args });
  }

  /** Exits per millisecond of guest time, as a counter track per vCPU. */
  private countExit(v: Vcpu, t: Track, ts: number): void {
    const b = Math.floor(ts / 1000);
    if (b !== t.bucket) {
      this.flushBucket(v, t);
      // A quiet gap: the counter drops to zero after the last busy millisecond.
      if (t.bucket >= 0 && b > t.bucket + 1) this.emit({ name: `vCPU ${v.index} exits/ms`, ph: 'C', pid: PID, ts: (t.bucket + 1) * 1000, args: { exits: 0 } });
      t.bucket = b;
      t.exits = 0;
    }
    t.exits++;
  }

  private flushBucket(v: Vcpu, t: Track): void {
    if (t.bucket >= 0 && t.exits > 0) this.emit({ name: `vCPU ${v.index} exits/ms`, ph: 'C', pid: PID, ts: t.bucket * 1000, args: { exits: t.exits } });
  }

  private emit(e: object): void {
    if (this.written >= this.maxEvents) this.dropped++;
    else this.push(e);
  }

  private push(e: object): void {
    this.pending.push((this.first ? '' : ',\n') + JSON.stringify(e));
    this.first = false;
    this.written++;
    if (this.pending.length >= FLUSH_EVERY) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.write(this.pending.join(''));
    this.pending.length = 0;
  }

  /** Ends open WFI slices and the counters, finishes the JSON and detaches from the vCPUs. */
  close(): void {
    if (this.closed) return;
    for (const [v, t] of this.tracks) {
      this.flushBucket(v, t);
      if (t.sleeping) this.emit({ name: 'WFI', cat: 'idle', ph: 'E', pid: PID, tid: v.index, ts: ExitTrace.micros(v) });
      if (v.onStat !== null) v.onStat = null;
    }
    this.closed = true;
    // Past the limit, one last event (beyond it) says how much is missing.
    if (this.dropped > 0) this.push({ name: 'process_labels', ph: 'M', pid: PID, args: { labels: `trace truncated: ${this.dropped} events after the first ${this.maxEvents} not written` } });
    this.flush();
    this.write('\n]}\n');
    this.onClose?.();
  }
}
