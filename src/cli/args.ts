/**
 * Command-line parsing in QEMU's style (`-kernel FILE -m 256M -cpu max`),
 * with kvmtool-style long forms as synonyms. Unknown or unsupported flags are
 * errors that name the flag; nothing is silently ignored.
 */
export class UsageError extends Error {}

export interface RunArgs {
  kernel?: string;
  defaultGuest: boolean;
  memBytes: number;
  cpu: string;
  smp: number;
  nographic: boolean;
  maxInsns?: number;
  stats: boolean;
  /** QEMU-style -d log items: in_asm (each block's code when first run), exec (every block run), int (exceptions). */
  log: Set<string>;
  /** -D: log file (default stderr). */
  logFile?: string;
  /**
   * The system counter: 'icount' (default) advances with retired instructions,
   * so runs are repeatable; 'host' follows host time (QEMU's default; here `-rtc clock=host`).
   */
  clock: 'icount' | 'host';
  /** -icount shift=N: each instruction is 2^N ns of virtual time (QEMU's meaning); undefined keeps the default rate. */
  icountShift?: number;
}

export const LOG_ITEMS = ['in_asm', 'exec', 'int'] as const;

/** Parses a QEMU memory size: plain numbers are MiB; suffixes K, M, G (and KiB/MiB/GiB) are binary. */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?[bB])?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: '${text}' is not a size (examples: 128M, 1G, 512)`);
  const unit = m[2].toUpperCase();
  const mult = unit === 'K' ? 1024 : unit === 'G' ? 1024 ** 3 : unit === 'T' ? 1024 ** 4 : 1024 * 1024;
  const bytes = Math.round(Number(m[1]) * mult);
  if (bytes < 1024 * 1024) throw new UsageError(`${flag}: ${text} is less than 1 MiB of RAM`);
  if (bytes > 16 * 1024 ** 3) throw new UsageError(`${flag}: ${text} is more RAM than nestvisor can give a guest (16 GiB)`);
  return bytes;
}

export function parseRunArgs(argv: string[]): RunArgs {
  const a: RunArgs = { defaultGuest: false, memBytes: 128 * 1024 * 1024, cpu: 'max', smp: 1, nographic: false, stats: false, log: new Set(), clock: 'icount' };
  const need = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    switch (f) {
      case '-kernel':
      case '--kernel':
      case '-k':
        a.kernel = need(i, f);
        i++;
        break;
      case '--default-guest':
        a.defaultGuest = true;
        break;
      case '-m':
      case '--mem':
        a.memBytes = parseSize(need(i, f), f);
        i++;
        break;
      case '-cpu':
        a.cpu = need(i, f);
        i++;
        break;
      case '-smp':
      case '--cpus':
      case '-c': {
        const v = need(i, f);
        const n = Number(/^(?:cpus=)?(\d+)$/.exec(v)?.[1]);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`${f}: '${v}' is not a CPU count`);
        if (n !== 1) throw new UsageError(`${f} ${v}: only one CPU is supported until the hypervisor's SMP support lands`);
        a.smp = n;
        i++;
        break;
      }
      case '-M':
      case '-machine': {
        const v = need(i, f);
        if (!/^virt(,|$)/.test(v)) throw new UsageError(`${f} ${v}: the only machine is 'virt'`);
        i++;
        break;
      }
      case '-nographic':
        a.nographic = true;
        break;
      case '--max-insns': {
        const v = Number(need(i, f));
        if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${f}: '${argv[i + 1]}' is not a positive number`);
        a.maxInsns = v;
        i++;
        break;
      }
      case '--stats':
        a.stats = true;
        break;
      case '-d': {
        const v = need(i, f);
        for (const item of v.split(',')) {
          if (!(LOG_ITEMS as readonly string[]).includes(item)) throw new UsageError(`-d: unknown log item '${item}' (known: ${LOG_ITEMS.join(', ')})`);
          a.log.add(item);
        }
        i++;
        break;
      }
      case '-icount': {
        const v = need(i, f);
        const m = /^(?:shift=)?(\d+)$/.exec(v);
        if (!m || Number(m[1]) > 10) throw new UsageError(`-icount: '${v}' is not shift=N with N from 0 to 10`);
        a.icountShift = Number(m[1]);
        a.clock = 'icount';
        i++;
        break;
      }
      case '-rtc': {
        const v = need(i, f);
        const m = /(?:^|,)clock=(host|vm|rt)(?:,|$)/.exec(v);
        if (!m) throw new UsageError(`-rtc: '${v}' is not supported (use clock=host or clock=vm)`);
        a.clock = m[1] === 'vm' ? 'icount' : 'host';
        i++;
        break;
      }
      case '-D':
        a.logFile = need(i, f);
        i++;
        break;
      default:
        throw new UsageError(f.startsWith('-') ? `unsupported option '${f}' (see 'nestvisor help')` : `unexpected argument '${f}'`);
    }
  }
  if (a.kernel === undefined && !a.defaultGuest) throw new UsageError('no guest given: use -kernel FILE, or --default-guest for the bundled one');
  return a;
}
