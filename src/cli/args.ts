/**
 * Command-line parsing in QEMU's style (`-kernel FILE -m 256M -cpu max`),
 * with kvmtool-style long forms as synonyms. Unknown or unsupported flags are
 * errors that name the flag; nothing is silently ignored.
 */
import type { SerialSocketSpec } from '../vmm/serial-socket.js';
import { parseMac } from '../vmm/net/ethernet.js';
import { parseIpv4, parseIpv4Network } from '../vmm/net/ipv4.js';
import { parseHostfwd, type HostFwd } from '../vmm/net/user.js';

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
  /** --exit-trace FILE: a Perfetto/Chrome trace of every vCPU's exits and sleeps (vmm/exit-trace.ts). */
  exitTrace?: string;
  /** -gdb tcp:[HOST]:PORT | unix:PATH (-s: tcp::1234): a GDB server (vmm/gdb). */
  gdb?: { host?: string; port: number } | { path: string };
  /** -S: do not start the CPUs until the debugger says continue. */
  startPaused: boolean;
  /**
   * The system counter: 'icount' (default) advances with retired instructions,
   * so runs are repeatable; 'host' follows host time (QEMU's default; here `-rtc clock=host`).
   */
  clock: 'icount' | 'host';
  /** -icount shift=N: each instruction is 2^N ns of virtual time (QEMU's meaning); undefined keeps the default rate. */
  icountShift?: number;
  /** -icount sleep=on|off: idle time passes in host time (undefined: on for an interactive console). */
  idleSleep?: boolean;
  initrd?: string;
  /** -append / --params: the kernel command line. */
  append?: string;
  /** -dtb: a device tree to use instead of the generated one. */
  dtb?: string;
  /** -serial: where the PL011 goes. */
  serial: { kind: 'stdio' } | { kind: 'file'; path: string } | { kind: 'none' } | ({ kind: 'socket' } & SerialSocketSpec);
  /** Disks attached as virtio-blk (from -drive + -device virtio-blk-device, or --disk). */
  disks: Array<{ path: string; readOnly: boolean }>;
  /** -device virtio-rng-device / --rng. */
  rng: boolean;
  /** -device virtconsole / --console virtio: a virtio console (hvc0) on the same stdio. */
  virtioConsole: boolean;
  /** -device loader,file=F,addr=A: raw binaries placed in RAM; with cpu-num, the boot vCPU enters there. */
  loaders: Array<{ file: string; addr: number; entry: boolean }>;
  /** -no-reboot: a guest reset ends the run instead of rebooting. */
  noReboot: boolean;
  /** virtio-net NICs (-netdev user,id=N + -device virtio-net-device,netdev=N; -nic user; --network mode=user). */
  nics: NicSpec[];
}

/** QEMU's user-mode network (-netdev user): the guest behind a NAT of the host's sockets. */
export interface UserNetdevSpec {
  readonly kind: 'user';
  /** net=ADDR/BITS (default 10.0.2.0/24), host= (the gateway, 10.0.2.2), dns= (10.0.2.3), dhcpstart= (10.0.2.15). */
  readonly net?: string;
  readonly host?: string;
  readonly dns?: string;
  readonly dhcpStart?: string;
  readonly hostfwd: HostFwd[];
}

export interface NicSpec {
  readonly netdev: UserNetdevSpec;
  /** The NIC's MAC (default: QEMU's 52:54:00:12:34:56, the last byte counting up per NIC). */
  readonly mac?: Uint8Array;
}

const NETDEV_USER_KEYS = ['net', 'host', 'dns', 'dhcpstart', 'hostfwd', 'ipv4', 'ipv6', 'restrict'];

/**
 * The options of a user-mode netdev (after `user`): `pairs` from parseKeyValueList without the
 * type word and id. `extra` names keys the caller handles itself (-nic's model= and mac=).
 */
function parseUserNetdev(pairs: Array<[string, string]>, flag: string, extra: readonly string[] = []): UserNetdevSpec {
  const spec: { net?: string; host?: string; dns?: string; dhcpStart?: string; hostfwd: HostFwd[] } = { hostfwd: [] };
  for (const [k, v] of pairs) {
    if (extra.includes(k)) continue;
    switch (k) {
      case 'net':
        if (parseIpv4Network(v) === null) throw new UsageError(`${flag}: net=${v} is not ADDRESS[/BITS] with BITS at most 30 (such as 10.0.2.0/24)`);
        spec.net = v;
        break;
      case 'host':
      case 'dns':
      case 'dhcpstart':
        if (parseIpv4(v) === null) throw new UsageError(`${flag}: ${k}=${v} is not an IPv4 address`);
        if (k === 'dhcpstart') spec.dhcpStart = v;
        else spec[k] = v;
        break;
      case 'hostfwd':
        try {
          spec.hostfwd.push(parseHostfwd(v));
        } catch (e) {
          throw new UsageError(`${flag}: hostfwd=${v}: ${(e as Error).message}`);
        }
        break;
      case 'ipv4':
        if (!BOOL_ON.includes(v)) throw new UsageError(`${flag}: ipv4=${v}: the user network is IPv4 only`);
        break;
      case 'ipv6':
        // QEMU's default is on; nestvisor's user network has no IPv6, which ipv6=off says.
        if (!BOOL_OFF.includes(v) && !BOOL_ON.includes(v)) throw new UsageError(`${flag}: ipv6=${v} is not on or off`);
        break;
      case 'restrict':
        if (!BOOL_OFF.includes(v)) throw new UsageError(`${flag}: restrict=${v} is not supported (the guest always reaches the host's network)`);
        break;
      default:
        throw new UsageError(`${flag}: option '${k}' is not supported for a user network (known: ${[...NETDEV_USER_KEYS, ...extra].join(', ')})`);
    }
  }
  return { kind: 'user', ...spec };
}

function macOption(v: string, flag: string): Uint8Array {
  try {
    return parseMac(v);
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
}

/**
 * Parses QEMU's `key=value,key=value` option syntax (',,' escapes a comma) into pairs in order
 * (a key may repeat, as hostfwd= does); the first bare word goes under '', later bare words are `key=on`.
 */
export function parseKeyValueList(text: string, flag: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
    } else cur += text[i];
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    if (p === '') throw new UsageError(`${flag}: empty option in '${text}'`);
    const eq = p.indexOf('=');
    if (eq < 0) out.push(i === 0 ? ['', p] : [p, 'on']);
    else out.push([p.slice(0, eq), p.slice(eq + 1)]);
  });
  return out;
}

/** parseKeyValueList as a map (a repeated key keeps its last value). */
export function parseKeyValues(text: string, flag: string): Map<string, string> {
  return new Map(parseKeyValueList(text, flag));
}

const BOOL_ON = ['on', 'yes', 'true', 'y'];
const BOOL_OFF = ['off', 'no', 'false', 'n'];

/**
 * QEMU's socket chardev in -serial's short form: `tcp:[HOST]:PORT` or `unix:PATH`, then
 * `,server=on|off`, `,wait=on|off`, `,nodelay=on|off`; the legacy bare words `server`,
 * `nowait` and `nodelay` too. A server waits for its first client unless wait=off.
 */
export function parseSerialSocket(v: string): SerialSocketSpec {
  const flag = `-serial ${v}`;
  const tcp = v.startsWith('tcp:');
  const rest = v.slice(tcp ? 4 : 5);
  const expected = `${flag}: expected ${tcp ? 'tcp:HOST:PORT (HOST may be empty: tcp::PORT)' : 'unix:PATH'}`;
  if (rest === '' || (rest.startsWith(',') && !rest.startsWith(',,'))) throw new UsageError(expected);
  const kv = parseKeyValues(rest, flag);
  const first = kv.get('');
  const bool = (key: string): boolean | undefined => {
    const val = kv.get(key);
    if (val === undefined) return undefined;
    if (BOOL_ON.includes(val)) return true;
    if (BOOL_OFF.includes(val)) return false;
    throw new UsageError(`${flag}: ${key}=${val} is not on or off`);
  };
  for (const k of kv.keys()) {
    if (!['', 'server', 'wait', 'nowait', 'nodelay'].includes(k)) throw new UsageError(`${flag}: option '${k}' is not supported (known: server, wait, nodelay)`);
  }
  const server = bool('server') ?? false;
  const nowait = bool('nowait');
  let wait = bool('wait');
  if (nowait !== undefined) {
    if (wait !== undefined && wait === nowait) throw new UsageError(`${flag}: wait and nowait conflict`);
    wait = !nowait;
  }
  if (!server && wait !== undefined) throw new UsageError(`${flag}: wait is only for a server (add server=on)`);
  const nodelay = bool('nodelay') ?? false;
  let address: SerialSocketSpec['address'];
  if (tcp) {
    const m = first === undefined ? null : /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(first);
    if (m === null) throw new UsageError(expected);
    const port = Number(m[3]);
    if (port > 65535 || (port === 0 && !server)) throw new UsageError(`${flag}: port ${m[3]} is not a port number${port === 0 ? ' to connect to' : ''} (1-65535${server ? ', or 0 for any free port' : ''})`);
    address = { host: m[1] ?? m[2], port };
  } else {
    if (first === undefined) throw new UsageError(expected);
    address = { path: first };
  }
  return { address, server, wait: server && (wait ?? true), nodelay };
}

const SUPPORTED_CPUS = ['max', 'cortex-a57'];
const MAX_SMP = 8;

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
  const a: RunArgs = {
    defaultGuest: false, memBytes: 128 * 1024 * 1024, cpu: 'max', smp: 1, nographic: false, stats: false, log: new Set(), clock: 'icount',
    serial: { kind: 'stdio' }, disks: [], rng: false, virtioConsole: false, loaders: [], noReboot: false, nics: [], startPaused: false,
  };
  const netdevs = new Map<string, { spec: UserNetdevSpec; used: boolean }>();
  /** NICs in command-line order (a -device's netdev is looked up at the end: -netdev may come after it). */
  const nics: Array<{ nic: NicSpec } | { netdevId: string; mac?: Uint8Array; flag: string }> = [];
  const drives = new Map<string, { path: string; readOnly: boolean; used: boolean }>();
  const blkDevices: string[] = [];
  const seen = new Map<string, string>();
  /** A flag given twice with different values (e.g. -kernel and --kernel) is a conflict, not a silent override. */
  const once = (key: string, flag: string, value: string): void => {
    const prev = seen.get(key);
    if (prev !== undefined && prev !== value) throw new UsageError(`${flag} ${value}: conflicts with an earlier ${key} (${prev})`);
    seen.set(key, value);
  };
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
        once('kernel', f, a.kernel);
        i++;
        break;
      case '-initrd':
      case '--initrd':
      case '-i':
        a.initrd = need(i, f);
        once('initrd', f, a.initrd);
        i++;
        break;
      case '-append':
      case '--params':
      case '-p':
        a.append = need(i, f);
        once('append', f, a.append);
        i++;
        break;
      case '-dtb':
      case '--dtb':
        a.dtb = need(i, f);
        once('dtb', f, a.dtb);
        i++;
        break;
      case '-serial': {
        const v = need(i, f);
        once('serial', f, v);
        if (v === 'stdio' || v === 'mon:stdio') a.serial = { kind: 'stdio' };
        else if (v === 'none' || v === 'null') a.serial = { kind: 'none' };
        else if (v.startsWith('file:') && v.length > 5) a.serial = { kind: 'file', path: v.slice(5) };
        else if (v.startsWith('tcp:') || v.startsWith('unix:')) a.serial = { kind: 'socket', ...parseSerialSocket(v) };
        else throw new UsageError(`-serial ${v}: not supported (use stdio, file:PATH, tcp:HOST:PORT[,server=on[,wait=off]], unix:PATH[,server=on[,wait=off]] or none)`);
        i++;
        break;
      }
      case '-drive': {
        const v = need(i, f);
        const kv = parseKeyValues(v, f);
        const file = kv.get('file');
        if (!file) throw new UsageError(`-drive ${v}: file=PATH is required`);
        for (const k of kv.keys()) {
          if (!['file', 'if', 'format', 'id', 'readonly', 'media', 'cache'].includes(k)) throw new UsageError(`-drive ${v}: option '${k || kv.get('')}' is not supported (known: file, if, format, id, readonly)`);
        }
        const format = kv.get('format') ?? 'raw';
        if (format !== 'raw') throw new UsageError(`-drive ${v}: format=${format} is not supported (only raw images)`);
        const iface = kv.get('if') ?? 'none';
        if (iface !== 'none' && iface !== 'virtio') throw new UsageError(`-drive ${v}: if=${iface} is not supported (use if=none with -device virtio-blk-device,drive=ID, or if=virtio)`);
        const ro = kv.get('readonly') ?? 'off';
        if (!['on', 'off', 'true', 'false'].includes(ro)) throw new UsageError(`-drive ${v}: readonly=${ro} is not on or off`);
        const readOnly = ro === 'on' || ro === 'true';
        if (iface === 'virtio') a.disks.push({ path: file, readOnly });
        else {
          const id = kv.get('id');
          if (!id) throw new UsageError(`-drive ${v}: if=none needs id=ID (for -device virtio-blk-device,drive=ID)`);
          if (drives.has(id)) throw new UsageError(`-drive ${v}: a drive with id '${id}' was already given`);
          drives.set(id, { path: file, readOnly, used: false });
        }
        i++;
        break;
      }
      case '-device': {
        const v = need(i, f);
        const kv = parseKeyValues(v, f);
        const drv = kv.get('');
        if (drv === 'virtio-blk-device') {
          const d = kv.get('drive');
          if (!d) throw new UsageError(`-device ${v}: drive=ID is required`);
          blkDevices.push(d);
        } else if (drv === 'virtio-net-device') {
          const n = kv.get('netdev');
          if (!n) throw new UsageError(`-device ${v}: netdev=ID is required (with -netdev user,id=ID)`);
          for (const k of kv.keys()) if (!['', 'netdev', 'mac', 'id'].includes(k)) throw new UsageError(`-device ${v}: option '${k}' is not supported (known: netdev, mac)`);
          const mac = kv.get('mac');
          nics.push({ netdevId: n, mac: mac === undefined ? undefined : macOption(mac, `-device ${v}`), flag: `-device ${v}` });
        } else if (drv === 'virtio-rng-device') a.rng = true;
        else if (drv === 'virtio-serial-device' || drv === 'virtconsole') a.virtioConsole = true;
        else if (drv === 'loader') {
          const file = kv.get('file');
          const addr = Number(kv.get('addr'));
          if (!file || !Number.isSafeInteger(addr) || addr < 0) throw new UsageError(`-device ${v}: loader needs file=PATH,addr=ADDRESS (only raw files at an address are supported)`);
          const cpu = kv.get('cpu-num');
          if (cpu !== undefined && cpu !== '0') throw new UsageError(`-device ${v}: cpu-num=${cpu}: only the boot CPU (0) can be started at a loader address`);
          a.loaders.push({ file, addr, entry: cpu === '0' });
        } else throw new UsageError(`-device ${drv}: unsupported device (supported: virtio-blk-device, virtio-net-device, virtio-rng-device, virtio-serial-device, virtconsole, loader)`);
        i++;
        break;
      }
      case '-netdev': {
        const v = need(i, f);
        const pairs = parseKeyValueList(v, f);
        const type = pairs[0][0] === '' ? pairs[0][1] : undefined;
        if (type !== 'user') throw new UsageError(`-netdev ${v}: ${type === undefined ? 'the type comes first' : `type '${type}' is not supported`} (nestvisor has the user-mode network: -netdev user,id=ID)`);
        const id = pairs.find(([k]) => k === 'id')?.[1];
        if (!id) throw new UsageError(`-netdev ${v}: id=ID is required (for -device virtio-net-device,netdev=ID)`);
        if (netdevs.has(id)) throw new UsageError(`-netdev ${v}: a netdev with id '${id}' was already given`);
        netdevs.set(id, { spec: parseUserNetdev(pairs.slice(1).filter(([k]) => k !== 'id'), `-netdev ${v}`), used: false });
        i++;
        break;
      }
      case '-nic': {
        // -nic TYPE[,model=M][,mac=MAC][,netdev options]: a netdev and its NIC in one flag.
        const v = need(i, f);
        i++;
        const pairs = parseKeyValueList(v, f);
        const type = pairs[0][0] === '' ? pairs[0][1] : undefined;
        if (type === 'none') break;
        if (type !== 'user') throw new UsageError(`-nic ${v}: ${type === undefined ? 'the type comes first' : `type '${type}' is not supported`} (use -nic user[,mac=MAC][,hostfwd=...])`);
        const model = pairs.find(([k]) => k === 'model')?.[1];
        if (model !== undefined && model !== 'virtio-net-device' && model !== 'virtio') throw new UsageError(`-nic ${v}: model=${model} is not supported (the virt machine's NIC is virtio-net-device)`);
        const mac = pairs.find(([k]) => k === 'mac')?.[1];
        nics.push({ nic: { netdev: parseUserNetdev(pairs.slice(1), `-nic ${v}`, ['model', 'mac', 'id']), mac: mac === undefined ? undefined : macOption(mac, `-nic ${v}`) } });
        break;
      }
      case '--network':
      case '-n': {
        // kvmtool: --network mode=user[,guest_mac=MAC] (mode=none: no NIC).
        const v = need(i, f);
        i++;
        const kv = parseKeyValues(v, f);
        for (const k of kv.keys()) if (!['mode', 'guest_mac', 'trans'].includes(k)) throw new UsageError(`${f} ${v}: option '${k}' is not supported (known: mode=user|none, guest_mac=MAC)`);
        const mode = kv.get('mode') ?? 'user';
        const trans = kv.get('trans');
        if (trans !== undefined && trans !== 'mmio') throw new UsageError(`${f} ${v}: trans=${trans} is not supported (the virt machine has virtio-mmio)`);
        if (mode === 'none') break;
        if (mode !== 'user') throw new UsageError(`${f} ${v}: mode=${mode} is not supported (use mode=user)`);
        const mac = kv.get('guest_mac');
        nics.push({ nic: { netdev: { kind: 'user', hostfwd: [] }, mac: mac === undefined ? undefined : macOption(mac, `${f} ${v}`) } });
        break;
      }
      case '--disk':
        a.disks.push({ path: need(i, f), readOnly: false });
        i++;
        break;
      case '--rng':
        a.rng = true;
        break;
      case '--console': {
        const v = need(i, f);
        if (v === 'virtio') a.virtioConsole = true;
        else if (v !== 'serial') throw new UsageError(`--console ${v}: use serial or virtio`);
        i++;
        break;
      }
      case '-no-reboot':
        a.noReboot = true;
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
        if (!SUPPORTED_CPUS.includes(a.cpu)) throw new UsageError(`-cpu ${a.cpu}: unsupported CPU model (supported: ${SUPPORTED_CPUS.join(', ')})`);
        i++;
        break;
      case '-smp':
      case '--cpus':
      case '-c': {
        const v = need(i, f);
        const n = Number(/^(?:cpus=)?(\d+)(?:,maxcpus=\d+)?$/.exec(v)?.[1]);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`${f}: '${v}' is not a CPU count`);
        if (n > MAX_SMP) throw new UsageError(`${f} ${v}: at most ${MAX_SMP} CPUs`);
        a.smp = n;
        i++;
        break;
      }
      case '-M':
      case '-machine': {
        const v = need(i, f);
        const kv = parseKeyValues(v, f);
        if (kv.get('') !== 'virt') throw new UsageError(`${f} ${v}: the only machine is 'virt'`);
        for (const [k, val] of kv) {
          if (k === '' || (k === 'gic-version' && ['3', 'host', 'max'].includes(val))) continue;
          if (k === 'gic-version') throw new UsageError(`${f} ${v}: gic-version=${val} is not supported (nestvisor has a GICv3 only)`);
          throw new UsageError(`${f} ${v}: machine option '${k}' is not supported (known: gic-version=3)`);
        }
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
        for (const part of v.split(',')) {
          const shift = /^(?:shift=)?(\d+)$/.exec(part);
          const sleep = /^sleep=(on|off)$/.exec(part);
          if (shift && Number(shift[1]) <= 10) a.icountShift = Number(shift[1]);
          else if (sleep) a.idleSleep = sleep[1] === 'on';
          else throw new UsageError(`-icount: '${part}' is not shift=N (N from 0 to 10) or sleep=on|off`);
        }
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
      case '-s':
        once('gdb', f, 'tcp::1234');
        a.gdb = { port: 1234 };
        break;
      case '-gdb': {
        const v = need(i, f);
        once('gdb', f, v);
        const tcp = /^tcp:(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(v);
        if (tcp !== null && Number(tcp[3]) <= 65535) a.gdb = { host: tcp[1] ?? (tcp[2] || undefined), port: Number(tcp[3]) };
        else if (v.startsWith('unix:') && v.length > 5) a.gdb = { path: v.slice(5) };
        else throw new UsageError(`-gdb ${v}: use tcp:[HOST]:PORT (port 0: any free port) or unix:PATH`);
        i++;
        break;
      }
      case '-S':
        a.startPaused = true;
        break;
      case '--exit-trace':
        a.exitTrace = need(i, f);
        i++;
        break;
      default:
        throw new UsageError(f.startsWith('-') ? `unsupported option '${f}' (see 'nestvisor help')` : `unexpected argument '${f}'`);
    }
  }
  for (const id of blkDevices) {
    const d = drives.get(id);
    if (d === undefined) throw new UsageError(`-device virtio-blk-device,drive=${id}: no -drive with id=${id}`);
    if (d.used) throw new UsageError(`-device virtio-blk-device,drive=${id}: drive '${id}' is already used by another device`);
    d.used = true;
    a.disks.push({ path: d.path, readOnly: d.readOnly });
  }
  for (const d of nics) {
    if ('nic' in d) {
      a.nics.push(d.nic);
      continue;
    }
    const n = netdevs.get(d.netdevId);
    if (n === undefined) throw new UsageError(`${d.flag}: no -netdev with id=${d.netdevId}`);
    if (n.used) throw new UsageError(`${d.flag}: netdev '${d.netdevId}' is already used by another NIC`);
    n.used = true;
    a.nics.push({ netdev: n.spec, mac: d.mac });
  }
  for (const [id, n] of netdevs) if (!n.used) throw new UsageError(`-netdev id=${id}: not attached to a NIC (add -device virtio-net-device,netdev=${id})`);
  for (const [id, d] of drives) if (!d.used) throw new UsageError(`-drive id=${id}: not attached to a device (add -device virtio-blk-device,drive=${id})`);
  const paths = new Set<string>();
  for (const d of a.disks) {
    if (paths.has(d.path)) throw new UsageError(`disk '${d.path}' is given twice`);
    paths.add(d.path);
  }
  const entryLoaders = a.loaders.filter((l) => l.entry);
  if (a.startPaused && a.gdb === undefined) throw new UsageError('-S: the CPUs would never start: give -s or -gdb too (the debugger starts them)');
  if (entryLoaders.length > 1) throw new UsageError('-device loader: cpu-num=0 given for more than one loader');
  if (a.defaultGuest && (a.kernel !== undefined || entryLoaders.length > 0)) throw new UsageError('--default-guest conflicts with -kernel / -device loader: give one guest');
  if (a.kernel !== undefined && entryLoaders.length > 0) throw new UsageError('-kernel conflicts with -device loader,cpu-num=0: give one entry point');
  if (a.kernel === undefined && entryLoaders.length === 0) {
    if (a.initrd !== undefined) throw new UsageError('-initrd is only allowed with -kernel');
    if (a.append !== undefined) throw new UsageError('-append is only allowed with -kernel');
  }
  if (a.kernel === undefined && !a.defaultGuest && entryLoaders.length === 0) throw new UsageError('no guest given: use -kernel FILE, or --default-guest for the bundled one');
  return a;
}
